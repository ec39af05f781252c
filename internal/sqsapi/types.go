package sqsapi

// Wire shapes of the SQS JSON protocol, with the SDK's member names
// (botocore sqs/2012-11-05 service model). The query protocol decodes into
// the same shapes.

type msgAttrValue struct {
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty"`
	DataType         string   `json:"DataType"`
}

type queueURLInput struct {
	QueueUrl string
}

type createQueueInput struct {
	QueueName  string
	Attributes map[string]string
	Tags       map[string]string `json:"tags"`
}

type queueURLOutput struct {
	QueueUrl string `json:"QueueUrl"`
}

type getQueueURLInput struct {
	QueueName              string
	QueueOwnerAWSAccountId string
}

type listQueuesInput struct {
	QueueNamePrefix string
	NextToken       string
	MaxResults      *int
}

type listQueuesOutput struct {
	QueueUrls []string `json:"QueueUrls,omitempty"`
	NextToken string   `json:"NextToken,omitempty"`
}

type getQueueAttributesInput struct {
	QueueUrl       string
	AttributeNames []string
}

type attributesOutput struct {
	Attributes map[string]string `json:"Attributes,omitempty"`
}

type setQueueAttributesInput struct {
	QueueUrl   string
	Attributes map[string]string
}

type sendMessageInput struct {
	QueueUrl                string
	MessageBody             *string
	DelaySeconds            *int
	MessageAttributes       map[string]msgAttrValue
	MessageSystemAttributes map[string]msgAttrValue
	MessageDeduplicationId  *string
	MessageGroupId          *string
}

type sendMessageOutput struct {
	MD5OfMessageBody             string `json:"MD5OfMessageBody,omitempty"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty"`
	MessageId                    string `json:"MessageId,omitempty"`
	SequenceNumber               string `json:"SequenceNumber,omitempty"`
}

type sendBatchEntry struct {
	Id                      string
	MessageBody             *string
	DelaySeconds            *int
	MessageAttributes       map[string]msgAttrValue
	MessageSystemAttributes map[string]msgAttrValue
	MessageDeduplicationId  *string
	MessageGroupId          *string
}

type sendMessageBatchInput struct {
	QueueUrl string
	Entries  []sendBatchEntry
}

type sendBatchResultEntry struct {
	Id string `json:"Id"`
	sendMessageOutput
}

type batchResultError struct {
	Id          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message,omitempty"`
}

type sendMessageBatchOutput struct {
	Successful []sendBatchResultEntry `json:"Successful"`
	Failed     []batchResultError     `json:"Failed"`
}

type receiveMessageInput struct {
	QueueUrl                    string
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
	MaxNumberOfMessages         *int
	VisibilityTimeout           *int
	WaitTimeSeconds             *int
	ReceiveRequestAttemptId     string
}

type message struct {
	MessageId              string                  `json:"MessageId"`
	ReceiptHandle          string                  `json:"ReceiptHandle"`
	MD5OfBody              string                  `json:"MD5OfBody"`
	Body                   string                  `json:"Body"`
	Attributes             map[string]string       `json:"Attributes,omitempty"`
	MD5OfMessageAttributes string                  `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]msgAttrValue `json:"MessageAttributes,omitempty"`
}

type receiveMessageOutput struct {
	Messages []message `json:"Messages,omitempty"`
}

type receiptInput struct {
	QueueUrl          string
	ReceiptHandle     string
	VisibilityTimeout *int
}

type batchEntry struct {
	Id                string
	ReceiptHandle     string
	VisibilityTimeout *int
}

type batchInput struct {
	QueueUrl string
	Entries  []batchEntry
}

type idEntry struct {
	Id string `json:"Id"`
}

type batchOutput struct {
	Successful []idEntry          `json:"Successful"`
	Failed     []batchResultError `json:"Failed"`
}

type tagQueueInput struct {
	QueueUrl string
	Tags     map[string]string
}

type untagQueueInput struct {
	QueueUrl string
	TagKeys  []string
}

type tagsOutput struct {
	Tags map[string]string `json:"Tags,omitempty"`
}

type listDLQSourcesInput struct {
	QueueUrl   string
	NextToken  string
	MaxResults *int
}

type listDLQSourcesOutput struct {
	QueueUrls []string `json:"queueUrls"`
	NextToken string   `json:"NextToken,omitempty"`
}

type addPermissionInput struct {
	QueueUrl      string
	Label         string
	AWSAccountIds []string
	Actions       []string
}

type removePermissionInput struct {
	QueueUrl string
	Label    string
}

type startMoveInput struct {
	SourceArn                    string
	DestinationArn               string
	MaxNumberOfMessagesPerSecond *int
}

type startMoveOutput struct {
	TaskHandle string `json:"TaskHandle"`
}

type listMoveInput struct {
	SourceArn  string
	MaxResults *int
}

type moveTaskEntry struct {
	TaskHandle                        string `json:"TaskHandle,omitempty"`
	Status                            string `json:"Status"`
	SourceArn                         string `json:"SourceArn"`
	DestinationArn                    string `json:"DestinationArn,omitempty"`
	MaxNumberOfMessagesPerSecond      *int   `json:"MaxNumberOfMessagesPerSecond,omitempty"`
	ApproximateNumberOfMessagesMoved  int64  `json:"ApproximateNumberOfMessagesMoved"`
	ApproximateNumberOfMessagesToMove int64  `json:"ApproximateNumberOfMessagesToMove"`
	FailureReason                     string `json:"FailureReason,omitempty"`
	StartedTimestamp                  int64  `json:"StartedTimestamp"`
}

type listMoveOutput struct {
	Results []moveTaskEntry `json:"Results"`
}

type cancelMoveInput struct {
	TaskHandle string
}

type cancelMoveOutput struct {
	ApproximateNumberOfMessagesMoved int64 `json:"ApproximateNumberOfMessagesMoved"`
}

type empty struct{}

// queueURL implementations for onQueue.
func (in *queueURLInput) queueURL() string           { return in.QueueUrl }
func (in *getQueueAttributesInput) queueURL() string { return in.QueueUrl }
func (in *setQueueAttributesInput) queueURL() string { return in.QueueUrl }
func (in *sendMessageInput) queueURL() string        { return in.QueueUrl }
func (in *sendMessageBatchInput) queueURL() string   { return in.QueueUrl }
func (in *receiveMessageInput) queueURL() string     { return in.QueueUrl }
func (in *receiptInput) queueURL() string            { return in.QueueUrl }
func (in *batchInput) queueURL() string              { return in.QueueUrl }
func (in *tagQueueInput) queueURL() string           { return in.QueueUrl }
func (in *untagQueueInput) queueURL() string         { return in.QueueUrl }
func (in *listDLQSourcesInput) queueURL() string     { return in.QueueUrl }
func (in *addPermissionInput) queueURL() string      { return in.QueueUrl }
func (in *removePermissionInput) queueURL() string   { return in.QueueUrl }

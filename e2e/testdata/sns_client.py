"""Drive forkline's SNS with current boto3 (botocore's own query-protocol
serializer and XML parser) and verify the delivered signatures with the
`cryptography` package, independently of forkline's Go code.

Run by e2e/clients_test.go with FORKLINE_ENDPOINT set.
"""
import base64
import json
import os
import urllib.request

import boto3
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

endpoint = os.environ["FORKLINE_ENDPOINT"]
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="AKIDPY", aws_secret_access_key="secret")
sns = boto3.client("sns", **kw)
sqs = boto3.client("sqs", **kw)
assert sns.meta.service_model.protocol == "query", sns.meta.service_model.protocol


def verify(envelope):
    """Verify an SNS message signature as the SNS developer guide says."""
    with urllib.request.urlopen(envelope["SigningCertURL"]) as r:
        cert = x509.load_pem_x509_certificate(r.read())
    if envelope["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    text = "".join("%s\n%s\n" % (k, envelope[k]) for k in keys if k in envelope)
    algo = hashes.SHA256() if envelope["SignatureVersion"] == "2" else hashes.SHA1()
    cert.public_key().verify(base64.b64decode(envelope["Signature"]), text.encode(), padding.PKCS1v15(), algo)


arn = sns.create_topic(Name="py-topic", Attributes={"DisplayName": "Py"}, Tags=[{"Key": "k", "Value": "v"}])["TopicArn"]
assert arn == "arn:aws:sns:us-east-1:000000000000:py-topic", arn
url = sqs.create_queue(QueueName="py-sub")["QueueUrl"]
sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:py-sub",
                    Attributes={"FilterPolicy": json.dumps({"n": [{"numeric": [">=", 10]}]})},
                    ReturnSubscriptionArn=True)["SubscriptionArn"]
attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
assert attrs["FilterPolicyScope"] == "MessageAttributes", attrs

for n in (5, 10, 20):
    sns.publish(TopicArn=arn, Message="n=%d ünïcode <&>" % n, Subject="py",
                MessageAttributes={"n": {"DataType": "Number", "StringValue": str(n)},
                                   "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
got = []
while True:
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    if not msgs:
        break
    for m in msgs:
        env = json.loads(m["Body"])
        verify(env)
        assert env["MessageAttributes"]["b"] == {"Type": "Binary", "Value": "AAE="}, env["MessageAttributes"]
        got.append(env["Message"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
assert sorted(got) == ["n=10 ünïcode <&>", "n=20 ünïcode <&>"], got

res = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
    {"Id": "a", "Message": "one", "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "11"}}},
    {"Id": "b", "Message": "two"}])
assert [s["Id"] for s in res["Successful"]] == ["a", "b"] and res["Failed"] == [], res

try:
    sns.get_topic_attributes(TopicArn=arn + "-missing")
    raise AssertionError("no error")
except ClientError as e:
    assert e.response["Error"]["Code"] == "NotFound", e.response
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response
try:
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:py-sub",
                  Attributes={"FilterPolicy": '{"n":[{"numeric":[">",3,"<",1]}]}'})
    raise AssertionError("no error")
except ClientError as e:
    assert e.response["Error"]["Message"] == \
        "Invalid parameter: Attributes Reason: FilterPolicy: Bottom must be less than top", e.response

tags = sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
assert tags == [{"Key": "k", "Value": "v"}], tags
topics = sns.list_topics()["Topics"]
assert {"TopicArn": arn} in topics, topics
sns.unsubscribe(SubscriptionArn=sub)
sns.delete_topic(TopicArn=arn)

# The account's SMS settings, through botocore's map and list parsers: an
# empty opted-out list is an empty element, which botocore reads as [].
sns.set_sms_attributes(attributes={"DefaultSMSType": "Promotional", "DefaultSenderID": "Py"})
sms = sns.get_sms_attributes(attributes=["DefaultSMSType"])["attributes"]
assert sms == {"DefaultSMSType": "Promotional"}, sms
opted = sns.list_phone_numbers_opted_out()
assert opted["phoneNumbers"] == [] and "nextToken" not in opted, opted
assert sns.check_if_phone_number_is_opted_out(phoneNumber="+15555550100")["isOptedOut"] is False
assert sns.get_sms_sandbox_account_status()["IsInSandbox"] is False
# The SMS sandbox's numbers: botocore reads the required, empty
# PhoneNumbers as [], and VerificationException's extra Status member.
assert sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"] == []
assert sns.list_origination_numbers()["PhoneNumbers"] == []
sns.create_sms_sandbox_phone_number(PhoneNumber="+15555550111", LanguageCode="en-GB")
listed = sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"]
assert listed == [{"PhoneNumber": "+15555550111", "Status": "Pending"}], listed
try:
    sns.verify_sms_sandbox_phone_number(PhoneNumber="+15555550111", OneTimePassword="99999999")
    raise AssertionError("no error")
except ClientError as e:
    err = e.response["Error"]
    assert err["Code"] == "VerificationException" and err["Status"] == "Pending", e.response
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.response
sns.delete_sms_sandbox_phone_number(PhoneNumber="+15555550111")
# Mobile push resources, through botocore's list-of-structures parser.
app = sns.create_platform_application(Name="py-app", Platform="GCM",
                                      Attributes={"PlatformCredential": "key"})["PlatformApplicationArn"]
ep = sns.create_platform_endpoint(PlatformApplicationArn=app, Token="py-device", CustomUserData="u")["EndpointArn"]
eps = sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)["Endpoints"]
assert eps == [{"EndpointArn": ep, "Attributes": {"CustomUserData": "u", "Enabled": "true", "Token": "py-device"}}], eps
apps = sns.list_platform_applications()["PlatformApplications"]
assert apps == [{"PlatformApplicationArn": app, "Attributes": {}}], apps
sns.delete_platform_application(PlatformApplicationArn=app)
print("all checks passed")

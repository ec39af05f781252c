# cfnresponse: what CloudFormation adds to inline (ZipFile) Python functions
# so that a custom resource handler can answer its request. forkline's own
# implementation of the documented interface: send(event, context,
# responseStatus, responseData, physicalResourceId=None, noEcho=False,
# reason=None).
import json
import urllib.request

SUCCESS = "SUCCESS"
FAILED = "FAILED"


def send(event, context, responseStatus, responseData, physicalResourceId=None, noEcho=False, reason=None):
    body = {
        "Status": responseStatus,
        "Reason": reason or ("See the details in CloudWatch Log Stream: " + context.log_stream_name),
        "PhysicalResourceId": physicalResourceId or context.log_stream_name,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": noEcho,
        "Data": responseData,
    }
    data = json.dumps(body).encode("utf-8")
    req = urllib.request.Request(event["ResponseURL"], data=data, method="PUT",
                                 headers={"Content-Type": "", "Content-Length": str(len(data))})
    try:
        with urllib.request.urlopen(req) as resp:
            print("Status code:", resp.status)
    except Exception as e:  # the handler goes on, as AWS's module does
        print("send(..) failed executing http request:", e)

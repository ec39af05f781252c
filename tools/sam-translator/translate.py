#!/usr/bin/env python3
"""Driver: python3 translate.py template.(yaml|json)

Prints the SAM-transformed CloudFormation template as JSON (sorted keys, indent 2).
On a translation error prints "ERROR <ExceptionType>: <message>" to stdout and exits 1.
No network access is needed (region is forced to us-east-1, managed policies are stubbed).
Flags: --passthrough-metadata  (pass passthrough_metadata=True to transform)
       --sar-stub              (AWS::Serverless::Application {ApplicationId,SemanticVersion}: use an offline
                                fake Serverless Application Repository client instead of calling AWS)
"""
import json
import os
import sys

# The translator builds some lists from Python sets (e.g. the Fn::Or of ServerlessCodeDeployCondition),
# so output order depends on string-hash randomisation. Re-exec once with a fixed seed for stable goldens.
if os.environ.get("PYTHONHASHSEED") is None and __name__ == "__main__":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.argv])

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")  # never used: no API call is made
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

import logging  # noqa: E402
logging.disable(logging.CRITICAL)
from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

# AWS managed policies; service-role/ prefix where AWS uses it.
_SERVICE_ROLE = {
    "AWSLambdaBasicExecutionRole",
    "AWSLambdaSQSQueueExecutionRole",
    "AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaKinesisExecutionRole",
    "AWSLambdaMSKExecutionRole",
    "AWSLambdaVPCAccessExecutionRole",
    "AWSLambdaRole",
    "AWSCodeDeployRoleForLambda",
    "AWSCodeDeployRoleForLambdaLimited",
    "AWSLambdaENIManagementAccess",
}
_PLAIN = {
    "AWSXRayDaemonWriteAccess",
    "AmazonSQSFullAccess",
    "AmazonSQSReadOnlyAccess",
    "AmazonS3FullAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonDynamoDBFullAccess",
    "AmazonDynamoDBReadOnlyAccess",
    "AmazonSNSFullAccess",
    "AWSLambda_FullAccess",
    "AWSLambdaExecute",
    "CloudWatchLogsFullAccess",
    "AWSStepFunctionsFullAccess",
}


class StubManagedPolicyLoader:
    """Duck-typed replacement for samtranslator's ManagedPolicyLoader (which calls IAM)."""

    def load(self):
        m = {n: f"arn:aws:iam::aws:policy/service-role/{n}" for n in _SERVICE_ROLE}
        m.update({n: f"arn:aws:iam::aws:policy/{n}" for n in _PLAIN})
        return m


PARAMS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "000000000000",
    "AWS::Partition": "aws",
    "AWS::StackName": "test-stack",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:000000000000:stack/test-stack/00000000-0000-0000-0000-000000000000",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NotificationARNs": [],
}


class StubSarClient:
    """Offline stand-in for boto3.client("serverlessrepo")."""

    def create_cloud_formation_template(self, ApplicationId, SemanticVersion):  # noqa: N803
        app = ApplicationId.rsplit("/", 1)[-1]
        return {
            "ApplicationId": ApplicationId,
            "SemanticVersion": SemanticVersion,
            "Status": "ACTIVE",
            "TemplateId": "00000000-0000-0000-0000-000000000000",
            "TemplateUrl": f"https://awsserverlessrepo-changesets.s3.amazonaws.com/{app}/{SemanticVersion}/template.yaml",
        }

    def get_application(self, ApplicationId, SemanticVersion):  # noqa: N803
        return {"ApplicationId": ApplicationId}


def _transform_with_sar_stub(template, params, loader, passthrough):
    """Same steps as samtranslator.translator.transform.transform, plus an offline ServerlessAppPlugin."""
    from samtranslator.parser.parser import Parser
    from samtranslator.plugins.application.serverless_app_plugin import ServerlessAppPlugin
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    to_py27_compatible_template(template, params)
    plugin = ServerlessAppPlugin(sar_client=StubSarClient(), parameters=params)
    translator = Translator(None, Parser(), plugins=[plugin])
    out = translator.translate(
        template, parameter_values=params, passthrough_metadata=passthrough, get_managed_policy_map=loader.load
    )
    return undo_mark_unicode_str_in_template(out)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    passthrough = "--passthrough-metadata" in argv
    if len(args) != 1:
        print("usage: python3 translate.py [--passthrough-metadata] [--sar-stub] template.(yaml|json)", file=sys.stderr)
        return 2
    with open(args[0]) as f:
        template = yaml_parse(f.read())
    try:
        if "--sar-stub" in argv:
            out = _transform_with_sar_stub(template, dict(PARAMS), StubManagedPolicyLoader(), passthrough)
        else:
            out = transform(template, dict(PARAMS), StubManagedPolicyLoader(), passthrough_metadata=passthrough)
    except InvalidDocumentException as e:
        # same text as CloudFormation shows after "Transform AWS::Serverless-2016-10-31 failed with: "
        full = " ".join([e.message] + [c.message for c in e.causes])
        print(f"ERROR {type(e).__name__}: {full}")
        for cause in e.causes:
            print(f"  cause {type(cause).__name__}: {cause.message}")
        return 1
    except Exception as e:  # noqa: BLE001
        print(f"ERROR {type(e).__name__}: {e}")
        return 1
    print(json.dumps(out, sort_keys=True, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

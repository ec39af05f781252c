#!/usr/bin/env python3.11
"""Second-opinion ASL runner backed by moto's Step Functions interpreter
(moto >= 5.0: the LocalStack ASL interpreter ported into moto.stepfunctions.parser).

Usage: python3.11 moto_run.py cases.json [--real-wait] [--timeout SECONDS] [--verbose] [--no-deepcopy-fix] > results.json
  cases: [{"name", "definition", "input", "taskResults"?: {StateName: json},
           "taskErrors"?: {StateName: {"Error","Cause"}}}]
  out:   [{"name", "status": "SUCCEEDED"|"FAILED"|"TIMED_OUT"|..., "output"?, "error"?, "cause"?}]

Execution is enabled with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}).
Each case: create_state_machine -> start_execution -> poll describe_execution until not RUNNING.

Harness patches (moto has no public knobs for these):
  * StateMachine deepcopy fix for getmoto/moto#10077 (disable with --no-deepcopy-fix).
  * Wait states and Retry back-off: WaitFunction._wait_interval and retrier_decl's time.sleep
    are replaced by no-ops (moto really sleeps). Pass --real-wait to keep real sleeping.
  * Task overrides: moto's parser ships LocalStack's "mock test case" machinery
    (MockTestCase / env.is_mocked_mode()) but moto's Execution never passes one to
    the ExecutionWorker. We inject a MockTestCase built from taskResults/taskErrors.
    For a direct Lambda ARN resource (arn:aws:lambda:...:function:...) the value is
    wrapped as {"StatusCode":200,"Payload":value} (moto passes on only Payload);
    for service integrations (arn:aws:states:::...) the value is the raw service response.
"""
import json
import os
import sys
import time
import uuid

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (  # noqa: E402
    wait_function as _wf,
)
from moto.stepfunctions.parser.backend import execution as _exec_mod  # noqa: E402
from moto.stepfunctions.parser.mocking.mock_config import (  # noqa: E402
    MockedResponseReturn,
    MockedResponseThrow,
    MockTestCase,
    StateMockedResponses,
)

ROLE = "arn:aws:iam::123456789012:role/sfn-second"
_MOCKS: dict[str, MockTestCase] = {}  # state machine name -> mock test case


def _patch_waits():
    _wf.WaitFunction._wait_interval = lambda self, env, wait_seconds: None
    # Retry back-off: retrier_decl calls time.sleep(interval) -> give that module a no-sleep time.
    import types
    import time as _time
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl as _rd
    _rd.time = types.SimpleNamespace(**{k: getattr(_time, k) for k in dir(_time) if not k.startswith("__")})
    _rd.time.sleep = lambda s: None


def _patch_sm_deepcopy():
    """moto 5.2.1 bug (getmoto/moto#10077, fixed by PR #10093): parser start_execution does
    copy.deepcopy(state_machine); the StateMachine holds .backend (-> every state machine ->
    live Execution workers with RLocks) and .executions, so every StartExecution after the
    first one in a region fails with 'TypeError: cannot pickle _thread.RLock'.
    Snapshot without executions and share the backend reference."""
    import copy as _copy
    from moto.stepfunctions.models import StateMachine

    def __deepcopy__(self, memo):
        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            if k == "backend":
                new.backend = v
            elif k == "executions":
                new.executions = []
            else:
                setattr(new, k, _copy.deepcopy(v, memo))
        return new

    StateMachine.__deepcopy__ = __deepcopy__


def _patch_task_mocks():
    orig = _exec_mod.Execution._get_start_execution_worker

    def _get_start_execution_worker(self):
        worker = orig(self)
        mtc = _MOCKS.get(self.state_machine.name)
        if mtc is not None:
            worker._mock_test_case = mtc
        return worker

    _exec_mod.Execution._get_start_execution_worker = _get_start_execution_worker


def _collect_tasks(defn, acc):
    for name, st in (defn.get("States") or {}).items():
        if st.get("Type") == "Task":
            acc[name] = st.get("Resource", "")
        for b in st.get("Branches") or []:
            _collect_tasks(b, acc)
        for k in ("Iterator", "ItemProcessor"):
            if st.get(k):
                _collect_tasks(st[k], acc)
    return acc


def _build_mock(sm_name, case):
    tr, te = case.get("taskResults") or {}, case.get("taskErrors") or {}
    if not tr and not te:
        return None
    resources = _collect_tasks(case["definition"], {})
    smr = []
    # Each state gets enough responses for retries (range 0-99).
    for state, val in tr.items():
        res = resources.get(state, "")
        payload = {"StatusCode": 200, "Payload": val} if res.startswith("arn:aws:lambda:") else val
        smr.append(StateMockedResponses(state, f"r_{state}", [MockedResponseReturn(0, 99, payload)]))
    for state, e in te.items():
        smr.append(StateMockedResponses(state, f"e_{state}", [
            MockedResponseThrow(0, 99, e.get("Error", "Error"), e.get("Cause", ""))]))
    return MockTestCase(sm_name, "case", smr)


def _history_output(client, ex_arn):
    kw = {"executionArn": ex_arn, "maxResults": 1000}
    while True:
        page = client.get_execution_history(**kw)
        for ev in page["events"]:
            if ev["type"] == "ExecutionSucceeded":
                return ev.get("executionSucceededEventDetails", {}).get("output")
        if not page.get("nextToken"):
            return None
        kw["nextToken"] = page["nextToken"]


def run_case(client, case, timeout):
    name = case["name"]
    sm_name = "sm-" + uuid.uuid4().hex[:12]
    try:
        mtc = _build_mock(sm_name, case)
        if mtc:
            _MOCKS[sm_name] = mtc
        sm_arn = client.create_state_machine(
            name=sm_name, definition=json.dumps(case["definition"]), roleArn=ROLE,
            type=case.get("type", "STANDARD"),
        )["stateMachineArn"]
        ex_arn = client.start_execution(
            stateMachineArn=sm_arn, name="ex-" + uuid.uuid4().hex[:12],
            input=json.dumps(case.get("input", {})),  # name is required: moto 5.2.1 parser does not
            # auto-generate one (ARN ends in ":None" and a 2nd unnamed run -> ExecutionAlreadyExists)
        )["executionArn"]
    except Exception as e:  # definition rejected etc.
        return {"name": name, "status": "FAILED", "error": "HarnessError:" + type(e).__name__, "cause": str(e)}
    deadline = time.time() + timeout
    while True:
        d = client.describe_execution(executionArn=ex_arn)
        if d["status"] != "RUNNING":
            break
        if time.time() > deadline:
            client.stop_execution(executionArn=ex_arn, error="Harness.Timeout", cause="harness poll timeout")
            return {"name": name, "status": "FAILED", "error": "Harness.Timeout", "cause": f"still RUNNING after {timeout}s"}
        time.sleep(0.002)
    r = {"name": name, "status": d["status"]}
    if d["status"] == "SUCCEEDED":
        # moto 5.2.1 bug: describe_execution returns a *string* output unencoded
        # (responses.py passes str through), e.g. has-opt instead of "has-opt".
        # The ExecutionSucceeded history event carries correctly JSON-encoded output.
        raw = _history_output(client, ex_arn)
        if raw is None:
            raw = d.get("output")
        try:
            r["output"] = json.loads(raw) if raw is not None else None
        except ValueError:
            r["output"] = raw
            r["outputNotJson"] = True
    else:
        if "error" in d:
            r["error"] = d["error"]
        if "cause" in d:
            r["cause"] = d["cause"]
    return r


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    timeout = 30.0
    if "--timeout" in argv:
        timeout = float(argv[argv.index("--timeout") + 1])
        args = [a for a in args if a != argv[argv.index("--timeout") + 1]]
    if "--verbose" not in argv:
        import logging
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    if "--real-wait" not in argv:
        _patch_waits()
    _patch_task_mocks()
    if "--no-deepcopy-fix" not in argv:
        _patch_sm_deepcopy()
    cases = json.load(open(args[0]))
    out = []
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        for c in cases:
            out.append(run_case(client, c, timeout))
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A small AWS JSON-protocol client for the Event Fork Pipelines functions:
SigV4-signed requests with the function's credentials to AWS_ENDPOINT_URL
(forkline), using only the standard library, so that the functions run on
any Python 3 without an SDK. forkline's own code."""
import datetime
import hashlib
import hmac
import http.client
import json
import os
import socket
import urllib.parse


class AWSError(Exception):
    def __init__(self, status, code, message):
        super().__init__("%s: %s" % (code, message))
        self.status, self.code, self.message = status, code, message


def _sign(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


_keys = {}


def _signing_key(secret, date, region, service):
    """The SigV4 signing key, derived once per day, region and service."""
    k = (secret, date, region, service)
    key = _keys.get(k)
    if key is None:
        if len(_keys) > 16:
            _keys.clear()
        key = _keys[k] = _sign(_sign(_sign(_sign(("AWS4" + secret).encode("utf-8"), date), region), service), "aws4_request")
    return key


def call(service, target, payload, content_type="application/x-amz-json-1.0"):
    """Calls an AWS JSON-protocol action (X-Amz-Target) and returns the decoded answer."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566").rstrip("/")
    region = os.environ.get("AWS_REGION", "us-east-1")
    key = os.environ.get("AWS_ACCESS_KEY_ID", "")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    token = os.environ.get("AWS_SESSION_TOKEN", "")
    body = json.dumps(payload).encode("utf-8")
    url = urllib.parse.urlsplit(endpoint + "/")
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"content-type": content_type, "host": url.netloc, "x-amz-date": amz_date, "x-amz-target": target}
    if token:
        headers["x-amz-security-token"] = token
    signed = sorted(headers)
    canonical = "\n".join(["POST", "/", "", "".join("%s:%s\n" % (h, headers[h]) for h in signed),
                           ";".join(signed), hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/%s/aws4_request" % (date, region, service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    signature = hmac.new(_signing_key(secret, date, region, service), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        key, scope, ";".join(signed), signature)
    status, raw = _post(url, body, headers)
    if status < 300:
        return json.loads(raw) if raw else {}
    try:
        err = json.loads(raw)
    except ValueError:
        err = {}
    code = str(err.get("__type", "HTTP%d" % status)).split("#")[-1]
    raise AWSError(status, code, err.get("message", err.get("Message", raw.decode("utf-8", "replace"))))


class _Plain:
    """A keep-alive HTTP/1.1 exchange for a plain http:// endpoint (forkline
    on the same host): it writes the request in one send and reads a
    Content-Length or chunked answer, at a third of http.client's cost,
    which parses every answer's headers with the email package."""

    def __init__(self, netloc):
        host, _, port = netloc.rpartition(":")
        if not host or not port.isdigit():
            host, port = netloc, "80"
        self.addr = (host.strip("[]"), int(port))
        self.sock = socket.create_connection(self.addr, timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")

    def close(self):
        self.rfile.close()
        self.sock.close()

    def post(self, body, headers):
        head = ["POST / HTTP/1.1\r\nContent-Length: %d\r\n" % len(body)]
        for k, v in headers.items():
            head.append("%s: %s\r\n" % (k, v))
        head.append("\r\n")
        self.sock.sendall("".join(head).encode("latin-1") + body)
        f = self.rfile
        line = f.readline(65537)
        if not line:
            raise ConnectionResetError("the endpoint closed the connection")
        status = int(line.split(None, 2)[1])
        h = {}
        while True:
            line = f.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            h[k.strip().lower()] = v.strip()
        keep = h.get("connection", "").lower() != "close"
        if "content-length" in h:
            data = f.read(int(h["content-length"]))
        elif h.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(f.readline(65537).split(b";")[0], 16)
                if size == 0:
                    while f.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(f.read(size))
                f.readline(65537)
            data = b"".join(parts)
        else:
            data, keep = f.read(), False
        return status, data, keep


class _Secure:
    """http.client for an https:// endpoint."""

    def __init__(self, netloc):
        self.conn = http.client.HTTPSConnection(netloc, timeout=30)

    def close(self):
        self.conn.close()

    def post(self, body, headers):
        self.conn.request("POST", "/", body=body, headers=headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read(), not resp.will_close


# One keep-alive connection per warm sandbox: invocations reuse it.
_conn = None


def _post(url, body, headers):
    global _conn
    for attempt in (0, 1):
        try:
            if _conn is None:
                _conn = (_Secure if url.scheme == "https" else _Plain)(url.netloc)
            status, data, keep = _conn.post(body, headers)
            if not keep:
                _conn.close()
                _conn = None
            return status, data
        except (http.client.HTTPException, OSError, ValueError, IndexError):
            if _conn is not None:
                _conn.close()
                _conn = None
            if attempt:
                raise


def sqs(action, payload):
    return call("sqs", "AmazonSQS." + action, payload)


def firehose(action, payload):
    return call("firehose", "Firehose_20150804." + action, payload, "application/x-amz-json-1.1")

// cfn-response: what CloudFormation adds to inline (ZipFile) Node.js
// functions so that a custom resource handler can answer its request.
// forkline's own implementation of the documented interface:
// send(event, context, responseStatus, responseData, physicalResourceId, noEcho).
"use strict";
const http = require("http");
const https = require("https");

exports.SUCCESS = "SUCCESS";
exports.FAILED = "FAILED";

exports.send = function (event, context, responseStatus, responseData, physicalResourceId, noEcho) {
  return new Promise((resolve) => {
    const body = JSON.stringify({
      Status: responseStatus,
      Reason: "See the details in CloudWatch Log Stream: " + context.logStreamName,
      PhysicalResourceId: physicalResourceId || context.logStreamName,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      NoEcho: noEcho || false,
      Data: responseData,
    });
    const url = new URL(event.ResponseURL);
    const client = url.protocol === "https:" ? https : http;
    const req = client.request(url, { method: "PUT", headers: { "content-type": "", "content-length": Buffer.byteLength(body) } }, (res) => {
      console.log("Status code: " + res.statusCode);
      res.resume();
      res.on("end", () => { resolve(); if (context.done) context.done(); });
    });
    req.on("error", (err) => {
      console.log("send(..) failed executing https.request(..): " + err);
      resolve();
      if (context.done) context.done();
    });
    req.write(body);
    req.end();
  });
};

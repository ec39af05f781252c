#!/bin/sh
# Deploys the trip-booking saga to forkline with the AWS CLI: six functions
# from one package, an event queue and the state machine.
set -eu
cd "$(dirname "$0")"
endpoint=${FORKLINE_ENDPOINT:-http://localhost:4566}
aws() { command aws --endpoint-url "$endpoint" "$@"; }
role=arn:aws:iam::000000000000:role/trip-booking

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m zipfile -c "$tmp/trip.zip" functions/trip.py

for fn in reserve-flight reserve-hotel reserve-car cancel-flight cancel-hotel cancel-car; do
    handler=trip.$(echo "$fn" | tr - _)
    aws lambda delete-function --function-name "$fn" >/dev/null 2>&1 || true
    aws lambda create-function --function-name "$fn" --runtime python3.12 \
        --handler "$handler" --role "$role" \
        --zip-file "fileb://$tmp/trip.zip" --query FunctionArn --output text
done

aws sqs create-queue --queue-name trip-events --query QueueUrl --output text

arn=arn:aws:states:us-east-1:000000000000:stateMachine:trip-booking
if aws stepfunctions describe-state-machine --state-machine-arn "$arn" >/dev/null 2>&1; then
    aws stepfunctions update-state-machine --state-machine-arn "$arn" \
        --definition file://trip-booking.asl.json >/dev/null
    echo "$arn"
else
    aws stepfunctions create-state-machine --name trip-booking --role-arn "$role" \
        --definition file://trip-booking.asl.json --query stateMachineArn --output text
fi

"""Sends the tasks that e2e/celery_test.go expects the worker to run."""
import tasks

for i in range(5):
    tasks.add.delay(i, 100)
tasks.flaky.delay("x")
tasks.add.apply_async((1000, 0), countdown=1)
# In order, through a FIFO queue: kombu gives each message a group ID and a
# deduplication ID.
for n in range(5):
    tasks.step.apply_async((n,), queue="celery-e2e.fifo")
print("sent")

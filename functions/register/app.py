"""Registration function: SQS batches of "Profile Request Submitted" details (from the event bus's rule or sent
straight to the queue) become pending items. The logic is core/registration.py; the wiring entry/register.py."""

from profile_poller.entry.register import lambda_handler, use_runtime

__all__ = ["lambda_handler", "use_runtime"]

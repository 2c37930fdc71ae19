"""A loopback Slack: the Web API methods the app calls, and people who click, submit modals,
type ``/aims`` and open the App Home, sending signed requests to the app as Slack does.

In tests::

    from aims_workflows.sandbox.slack import SlackSandbox

    with SlackSandbox(app_url=receiver_url) as slack:
        client = slack.client()                     # slack_sdk.WebClient on slack.api_url
        client.chat_postMessage(channel="#aims-approvals", text="Approve?", blocks=[...])
        message = slack.messages("#aims-approvals")[-1]
        delivery = slack.person("alice@example.com").click(message, "approve")
        slack.faults.rate_limit("chat.postMessage", retry_after=1)

Standalone: ``run_slack_sandbox(port=3999, app_url="http://127.0.0.1:8000/slack/events")``.
"""

from ._api import ApiCall
from ._blockkit import BlockKitError, check_blocks, check_view
from ._delivery import SLACK_RETRY_DELAYS, Attempt, Delivery
from ._errors import SandboxUsageError
from ._faults import Fault, Faults
from ._ids import Clock, wall_clock
from ._methods import METHODS
from ._model import Conversation, Ephemeral, Message, SlackUser, View
from ._people import Person
from ._sandbox import DEFAULT_CHANNELS, DEFAULT_USERS, SlackSandbox
from ._signing import signature, signed_headers, verify
from ._standalone import run_slack_sandbox
from ._workspace import TRIGGER_LIFETIME

__all__ = [
    "SlackSandbox",
    "run_slack_sandbox",
    "Person",
    "Faults",
    "Fault",
    "Delivery",
    "Attempt",
    "ApiCall",
    "Message",
    "Ephemeral",
    "View",
    "SlackUser",
    "Conversation",
    "SandboxUsageError",
    "BlockKitError",
    "check_blocks",
    "check_view",
    "signature",
    "signed_headers",
    "verify",
    "Clock",
    "wall_clock",
    "METHODS",
    "DEFAULT_USERS",
    "DEFAULT_CHANNELS",
    "SLACK_RETRY_DELAYS",
    "TRIGGER_LIFETIME",
]

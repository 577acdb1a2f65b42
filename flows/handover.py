"""Review runs created already waiting for the executor's form.

A review run that a person decides used to execute once just to reach its
first form: the serving process took it, ran the engine, assigned the
executor, published the application's page and suspended, and the server
orchestrated Pending, Running and Paused and recorded the task run on the way.
Per application that cost more than the rest of the orchestration of its
package, and none of it needed the run: the worker that accepted the package
prepares the same form and page (:class:`medlicense.review_page.ReviewHandover`).

So ``start-reviews`` creates such a run in a running state of its own name and
suspends it at once, through the server's orchestration, with the same pause
key as the flow's first round.  The server records the key; when the person
submits the form, the run is scheduled, the flow starts from the top, and its
own suspension with that key is refused as already fired, which hands it the
stored response: Prefect's stock resume path, nothing of ours in between.
"""

from __future__ import annotations

import orjson
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import ArtifactCreate
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.exceptions import PrefectHTTPStatusError
from prefect.input.run_input import keyset_from_paused_state
from prefect.states import Running, Scheduled, Suspended

from medlicense.review import form_from_spec, form_schema
from medlicense.review_page import ReviewHandover, artifact_key, review_pause_key

# The state a handed-over run is created in; only a run in it is suspended here, so a
# run that executes (resumed, or started without a hand-over) is never touched.
HANDOVER_STATE = "Handing over"


def handover_state() -> State[None]:
    return Running(name=HANDOVER_STATE)


def _handing_over(state: State | None) -> bool:
    return state is not None and state.type is StateType.RUNNING and state.name == HANDOVER_STATE


def _suspended(handover: ReviewHandover) -> State[None]:
    state: State[None] = Suspended(
        timeout_seconds=handover.wait_seconds, pause_key=review_pause_key(1)
    )
    state.state_details.run_input_keyset = {
        str(k): v for k, v in keyset_from_paused_state(state).items()
    }
    return state


def wait_for_executor(client: SyncPrefectClient, run: FlowRun, handover: ReviewHandover) -> bool:
    """Suspend ``run`` at its first review form; False when it is past that point.

    Safe to repeat (a retried ``start-reviews`` gets the same run back through
    its idempotency key): a run already suspended here only has its form
    completed if an earlier attempt stopped before storing it.
    """
    state = run.state
    if state is None:
        return False
    if _handing_over(state):
        wanted = _suspended(handover)
        result = client.set_flow_run_state(run.id, wanted)
        if result.status is not SetStateStatus.ACCEPT:
            return False
        keyset = wanted.state_details.run_input_keyset
        assert keyset is not None
        _store_form(client, run, handover, keyset)
        return True
    if (
        state.type is StateType.PAUSED
        and state.state_details.pause_key == review_pause_key(1)
        and state.state_details.run_input_keyset
    ):
        keyset = state.state_details.run_input_keyset
        try:
            # Stored last of the two: if it is there, so is the schema.
            client.read_flow_run_input(run.id, keyset["description"])
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code != 404:
                raise
            _store_form(client, run, handover, keyset)
        return True
    return False


def run_it_instead(client: SyncPrefectClient, run: FlowRun) -> bool:
    """Schedule ``run`` if it is still "Handing over": it then executes and builds its
    first form itself, as a run started without a hand-over does; True if scheduled.

    Nothing else would ever move such a run: no process executes a run in a state of
    ours.  It happens when the server refuses its suspension, and when a batch created
    it and failed before suspending it: a later batch finds the application still
    queued and gets the same run back through its idempotency key, with no form at hand.
    """
    if not _handing_over(run.state):
        return False
    scheduled: State[None] = Scheduled()
    result = client.set_flow_run_state(run.id, scheduled)
    return result.status is SetStateStatus.ACCEPT


def _store_form(
    client: SyncPrefectClient, run: FlowRun, handover: ReviewHandover, keyset: dict[str, str]
) -> None:
    # Stored after the suspension: the server drops inputs under a keyset it suspends with.
    _put_input(client, run, keyset["schema"], form_schema(form_from_spec(handover.form)))
    _put_input(client, run, keyset["description"], handover.form.description)
    client.create_artifact(
        ArtifactCreate(
            key=artifact_key(handover.app_id),
            type="markdown",
            data=handover.page,
            description=handover.page_description,
            flow_run_id=run.id,
        )
    )


def _put_input(client: SyncPrefectClient, run: FlowRun, key: str, value: object) -> None:
    try:
        client.create_flow_run_input(run.id, key, orjson.dumps(value).decode())
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code != 409:  # stored by an earlier attempt
            raise

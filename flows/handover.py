"""Review runs created already waiting for the executor's form.

A review run that a person decides used to execute once just to reach its
first form: the serving process took it, ran the engine, assigned the
executor, published the application's page and suspended, and the server
orchestrated Pending, Running and Paused and recorded the task run on the way.
Per application that cost more than the rest of the orchestration of its
package, and none of it needed the run: the worker that accepted the package
prepares the same form and page (:class:`medlicense.review_page.ReviewHandover`).

So ``start-reviews`` creates such a run suspended, in one request: the state
the flow's first round would have suspended in, and the pause key of that
round already recorded as fired, which is what the server's orchestration of
a suspension would have left on the run.  When the person submits the form,
the run is scheduled, the flow starts from the top, and its own suspension
with that key is refused as already fired, which hands it the stored
response: Prefect's stock resume path, nothing of ours in between.

A run created and then suspended through the orchestration (as this module
did before) cost the server about a fifth more per application: a second
state transition, with its event, for a state nothing ever observed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import orjson
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import ArtifactCreate, DeploymentFlowRunCreate
from prefect.client.schemas.objects import FlowRun, FlowRunPolicy, State, StateType
from prefect.exceptions import PrefectHTTPStatusError
from prefect.input.run_input import keyset_from_paused_state
from prefect.states import Suspended, to_state_create

from medlicense.review import form_from_spec, form_schema
from medlicense.review_page import ReviewHandover, artifact_key, review_pause_key


def _suspended(handover: ReviewHandover) -> State[None]:
    state: State[None] = Suspended(
        timeout_seconds=handover.wait_seconds, pause_key=review_pause_key(1)
    )
    state.state_details.run_input_keyset = {
        str(k): v for k, v in keyset_from_paused_state(state).items()
    }
    return state


def create_waiting(
    client: SyncPrefectClient,
    deployment_id: uuid.UUID,
    handover: ReviewHandover,
    *,
    name: str,
    idempotency_key: str,
    tags: list[str],
) -> FlowRun:
    """The review run of ``handover``, suspended at its first form with the form stored.

    Safe to repeat: the idempotency key gives an earlier attempt's run back, and
    that run gets its form only if it still waits for it without one
    (:func:`complete_form`); a run already resumed is left alone.
    """
    state = _suspended(handover)
    body = DeploymentFlowRunCreate(
        parameters={"app_id": handover.app_id},
        state=to_state_create(state),
        name=name,
        idempotency_key=idempotency_key,
        tags=tags,
        # What the server's orchestration of this suspension records: the key has
        # fired, so the resumed flow's own suspend with it returns the response.
        empirical_policy=FlowRunPolicy(pause_keys={review_pause_key(1)}),
    )
    response = client.request(
        "POST",
        "/deployments/{id}/create_flow_run",
        path_params={"id": deployment_id},
        json=body.model_dump(mode="json", exclude_unset=True),
    )
    run = FlowRun.model_validate(response.json())
    if response.status_code == 201:  # created now: nothing of the form is stored yet
        keyset = state.state_details.run_input_keyset
        assert keyset is not None
        _store_form(client, run, handover, keyset)
    else:
        complete_form(client, run, lambda: handover)
    return run


def complete_form(
    client: SyncPrefectClient, run: FlowRun, handover: Callable[[], ReviewHandover]
) -> bool:
    """Store the first form of ``run`` if it waits for it without one; True if it waits.

    A batch that stopped between creating the run and storing its form leaves
    such a run; ``handover`` is called only then (a later batch that finds the
    application still queued has to prepare the form again).
    """
    state = run.state
    if not (
        state is not None
        and state.type is StateType.PAUSED
        and state.state_details.pause_key == review_pause_key(1)
        and state.state_details.run_input_keyset
    ):
        return False
    keyset = state.state_details.run_input_keyset
    try:
        # Stored last of the three: if it is there, so are the others.
        client.read_flow_run_input(run.id, keyset["description"])
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code != 404:
            raise
        _store_form(client, run, handover(), keyset)
    return True


def _store_form(
    client: SyncPrefectClient, run: FlowRun, handover: ReviewHandover, keyset: dict[str, str]
) -> None:
    _put_input(client, run, keyset["schema"], form_schema(form_from_spec(handover.form)))
    # A repeat after a stop between these two adds a second version of the page, the same.
    client.create_artifact(
        ArtifactCreate(
            key=artifact_key(handover.app_id),
            type="markdown",
            data=handover.page,
            description=handover.page_description,
            flow_run_id=run.id,
        )
    )
    # Last: the UI shows the form once the description is there, and a repeat
    # (complete_form) takes its presence for the whole form.
    _put_input(client, run, keyset["description"], handover.form.description)


def _put_input(client: SyncPrefectClient, run: FlowRun, key: str, value: object) -> None:
    try:
        client.create_flow_run_input(run.id, key, orjson.dumps(value).decode())
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code != 409:  # stored by an earlier attempt
            raise

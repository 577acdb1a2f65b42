"""Review runs created already waiting for the executor's form.

A review run that a person decides used to execute once just to reach its
first form: the serving process took it, ran the engine, assigned the
executor, published the application's page and suspended, and the server
orchestrated Pending, Running and Paused and recorded the task run on the way.
Per application that cost more than the rest of the orchestration of its
package, and none of it needed the run: the worker that accepted the package
prepares the same form and page (:class:`medlicense.review_page.ReviewHandover`).

So ``start-reviews`` creates such runs suspended, a group of them in one
request (:func:`create_waiting`), each in the state the flow's first round
would have suspended in and with the pause key of that round already recorded
as fired, which is what the server's orchestration of a suspension would have
left on the run.  When the person submits the form,
the run is scheduled, the flow starts from the top, and its own suspension
with that key is refused as already fired, which hands it the stored
response: Prefect's stock resume path, nothing of ours in between.

A run created and then suspended through the orchestration (as this module
did before) cost the server about a fifth more per application: a second
state transition, with its event, for a state nothing ever observed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import ArtifactCreate, DeploymentFlowRunCreate
from prefect.client.schemas.objects import FlowRun, FlowRunPolicy, State, StateType
from prefect.exceptions import PrefectHTTPStatusError
from prefect.input.run_input import keyset_from_paused_state
from prefect.states import Suspended, to_state_create
from pydantic import BaseModel, ConfigDict

from medlicense.errors import ReviewNotStarted
from medlicense.review import form_from_spec, form_schema
from medlicense.review_page import ReviewHandover, artifact_key, review_pause_key


def _suspended(handover: ReviewHandover) -> State[None]:
    state: State[None] = Suspended(
        timeout_seconds=handover.wait_seconds, pause_key=review_pause_key(1)
    )
    state.state_details.run_input_keyset = _first_keyset()
    return state


# The most runs the server creates in one request (its own limit).
BULK_LIMIT = 100


class _BulkResult(BaseModel):
    flow_run_id: uuid.UUID | None = None
    status: str
    error: str | None = None


class _BulkResponse(BaseModel):
    results: list[_BulkResult]


class Created(BaseModel):
    """What :func:`create_waiting` got: the run of each application it asked for, and
    the server's reason for each it refused."""

    model_config = ConfigDict(frozen=True)

    runs: dict[str, uuid.UUID]
    refused: dict[str, str]


def create_waiting(
    client: SyncPrefectClient,
    deployment_id: uuid.UUID,
    handovers: Sequence[ReviewHandover],
    *,
    fields: Callable[[str], dict[str, Any]],
) -> Created:
    """Review runs for ``handovers``, each suspended at its first form; their forms are
    stored next (:func:`store_first_form`).

    A hundred runs per request, in one transaction on the server: per run, that
    spares the request, the deployment's lookup and the commit that creating them
    one by one repeats.  ``fields(app_id)`` gives a run's name, tags and
    idempotency key; with the key, a repeat gets an earlier attempt's run back.
    """
    runs: dict[str, uuid.UUID] = {}
    refused: dict[str, str] = {}
    for i in range(0, len(handovers), BULK_LIMIT):
        chunk = handovers[i : i + BULK_LIMIT]
        body = [
            DeploymentFlowRunCreate(
                parameters={"app_id": h.app_id},
                state=to_state_create(_suspended(h)),
                # What the server's orchestration of this suspension records: the key
                # has fired, so the resumed flow's own suspend with it returns the response.
                empirical_policy=FlowRunPolicy(pause_keys={review_pause_key(1)}),
                **fields(h.app_id),
            ).model_dump(mode="json", exclude_unset=True)
            for h in chunk
        ]
        response = client.request(
            "POST",
            # The client's list of routes leaves out this one, which its server has.
            "/deployments/{id}/create_flow_run/bulk",  # type: ignore[arg-type]
            path_params={"id": deployment_id},
            json=body,
        )
        results = _BulkResponse.model_validate_json(response.content).results
        if len(results) != len(chunk):
            raise ReviewNotStarted(
                f"the server answered {len(results)} result(s) for {len(chunk)} review run(s)"
            )
        for h, result in zip(chunk, results, strict=True):
            if result.status == "CREATED" and result.flow_run_id is not None:
                runs[h.app_id] = result.flow_run_id
            else:
                refused[h.app_id] = result.error or result.status
    return Created(runs=runs, refused=refused)


def store_first_form(
    client: SyncPrefectClient, run_id: uuid.UUID, handover: ReviewHandover
) -> None:
    """Store the form of a run :func:`create_waiting` returned.

    Its schema goes first and is stored only once per run, so it tells a new run
    from one an earlier attempt created: such a run gets what it lacks only if it
    still waits for its form (:func:`complete_form`); one a person has resumed is
    left alone.
    """
    keyset = _first_keyset()
    if _put_input(client, run_id, keyset["schema"], _schema(handover)):
        _store_page_and_description(client, run_id, handover, keyset)
    else:
        complete_form(client, client.read_flow_run(run_id), lambda: handover)


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
        form = handover()
        _put_input(client, run.id, keyset["schema"], _schema(form))
        _store_page_and_description(client, run.id, form, keyset)
    return True


def _first_keyset() -> dict[str, str]:
    state: State[None] = Suspended(pause_key=review_pause_key(1))
    return {str(k): v for k, v in keyset_from_paused_state(state).items()}


def _schema(handover: ReviewHandover) -> dict[str, Any]:
    return form_schema(form_from_spec(handover.form))


def _store_page_and_description(
    client: SyncPrefectClient, run_id: uuid.UUID, handover: ReviewHandover, keyset: dict[str, str]
) -> None:
    # A repeat after a stop between these two adds a second version of the page, the same.
    client.create_artifact(
        ArtifactCreate(
            key=artifact_key(handover.app_id),
            type="markdown",
            data=handover.page,
            description=handover.page_description,
            flow_run_id=run_id,
        )
    )
    # Last: the UI shows the form once the description is there, and a repeat
    # (complete_form) takes its presence for the whole form.
    _put_input(client, run_id, keyset["description"], handover.form.description)


def _put_input(client: SyncPrefectClient, run_id: uuid.UUID, key: str, value: object) -> bool:
    """True if stored now, False if an earlier attempt stored it."""
    try:
        client.create_flow_run_input(run_id, key, orjson.dumps(value).decode())
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code != 409:
            raise
        return False
    return True

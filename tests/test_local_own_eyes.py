"""The emulator and the simulator read with their own eyes, and agree with the recorded examples.

The local MTurk server and the platform simulator parse and write the services' formats with code
of their own (an import contract in pyproject.toml keeps the client's parsers out of
`iglu_lib.local`). Here the services' own samples go through both sides: the MTurk API
reference's XML (tests/fixtures/mturk_docs/), botocore's service model, and the real IGLU
completion codes and Greenlands task. A misreading on either side fails a test here instead of
passing every local test and failing on the real service.
"""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest

from iglu_lib.local.mturk import answer_key as local_key
from iglu_lib.local.mturk import question_form as local_form
from iglu_lib.local.mturk import questions as local_questions
from iglu_lib.local.mturk.answers import question_form_answers
from iglu_lib.local.mturk.errors import RequestError
from iglu_lib.local.platform import codes as local_codes
from iglu_lib.local.platform import world as local_world
from iglu_lib.mturk import answer_key as client_key
from iglu_lib.mturk import answers as client_answers
from iglu_lib.mturk import questions as client_templates
from iglu_lib.pages import answers as client_pages
from iglu_lib.platform import codes as client_codes
from iglu_lib.platform import events as client_events

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "tests/fixtures/mturk_docs"
TASK = ROOT / "tests/fixtures/greenlands/tasks/03794642-d5dc-40df-bd41-4cd898ae6b7c"
EXPORT = ROOT / "iglu_lib/data/human_evaluation/human_agent_feedback.csv"


def sample(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# -- AnswerKey -----------------------------------------------------------------------------------

#: Worker answers to score with each recorded key (selection questions: one id or a list of ids).
ANSWERS = [
    {},
    {"nextmove": "D"},
    {"favoritefruit": "apples"},
    {"nextmove": "D", "favoritefruit": "apples"},
    {"nextmove": "C", "favoritefruit": ["apples", "pears"]},
    {"favoritefruit": ["apples"]},
]
#: What the reference's text says each key grants for the answers above.
DOCUMENTED_VALUES = {
    "answer_key.xml": [0, 33, 67, 100, 0, 67],  # sum of 5 and 10 as a percentage of 15
    "answer_key_range_mapping.xml": [0, 0, 10, 10, 0, 10],  # 10 falls in 8..10; 0 is out of range
    "answer_key_scale_mapping.xml": [0, 0, 30, 30, 0, 30],  # sum times 3
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED_VALUES))
def test_the_documented_answer_keys_score_the_same_on_both_sides(name):
    emulator = local_key.read_answer_key(sample(name))
    client = client_key.parse_answer_key(sample(name))
    assert [emulator.qualification_value(a) for a in ANSWERS] == DOCUMENTED_VALUES[name]
    assert [client.value(a) for a in ANSWERS] == DOCUMENTED_VALUES[name]


def test_both_sides_refuse_the_documented_key_against_the_documented_form():
    """The reference's key scores `favoritefruit`, which its QuestionForm example never asks."""
    with pytest.raises(RequestError, match="favoritefruit"):
        local_key.check_against_test(
            local_key.read_answer_key(sample("answer_key.xml")),
            local_form.question_identifiers(sample("question_form.xml")),
        )
    with pytest.raises(client_key.AnswerKeyError, match="favoritefruit"):
        client_key.check_key_matches_test(
            client_key.parse_answer_key(sample("answer_key.xml")),
            client_key.test_question_ids(sample("question_form.xml")),
        )


@pytest.mark.parametrize("broken", [
    "<AnswerKey><Question><QuestionIdentifier>q</QuestionIdentifier>",  # not XML
    "<QuestionForm/>",  # not a key
    "<AnswerKey><Question><QuestionIdentifier>q</QuestionIdentifier><AnswerOption>"
    "<SelectionIdentifier>a</SelectionIdentifier><AnswerScore>five</AnswerScore></AnswerOption>"
    "</Question></AnswerKey>",  # a score that is no number
    '<!DOCTYPE k [<!ENTITY e "x">]><AnswerKey/>',  # entities are never expanded
])
def test_both_sides_refuse_a_broken_answer_key(broken):
    with pytest.raises(RequestError) as refused:
        local_key.read_answer_key(broken)
    assert refused.value.turk_code == "AWS.MechanicalTurk.XMLParseError"
    with pytest.raises(client_key.AnswerKeyError):
        client_key.parse_answer_key(broken)


def test_a_half_percentage_rounds_to_the_nearest_integer_upwards():
    """The reference says "rounded to the nearest integer": 1 of 8 is 12.5, which becomes 13."""
    key = local_key.read_answer_key(
        "<AnswerKey><Question><QuestionIdentifier>q</QuestionIdentifier><AnswerOption>"
        "<SelectionIdentifier>a</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption>"
        "</Question><QualificationValueMapping><PercentageMapping><MaximumSummedScore>8"
        "</MaximumSummedScore></PercentageMapping></QualificationValueMapping></AnswerKey>"
    )
    assert key.qualification_value({"q": "a"}) == 13


# -- QuestionForm --------------------------------------------------------------------------------


def test_the_documented_question_form_reads_the_same_on_both_sides():
    questions = local_form.parse_question_form(sample("question_form.xml"))
    assert [q.identifier for q in questions] == ["nextmove", "likelytowin"]
    assert client_key.test_question_ids(sample("question_form.xml")) == ["nextmove", "likelytowin"]
    free_text, selection = questions
    assert free_text.selections == () and "best move" in free_text.text
    assert selection.selections == (
        ("notlikely", "Not likely"), ("unsure", "It could go either way"), ("likely", "Likely"),
    )
    assert not selection.multiple  # a radiobutton, one selection at most


# -- QuestionFormAnswers -------------------------------------------------------------------------


def structure(xml: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """A QuestionFormAnswers document as (identifier, [(element, text)]) per answer: the shape the
    schema fixes, read by the standard library (neither side's parser)."""
    root = ElementTree.fromstring(xml.encode())
    assert root.tag.endswith("}QuestionFormAnswers")
    namespace = root.tag[: root.tag.index("}") + 1]
    assert namespace == "{" + "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd}"
    found = []
    for answer in root:
        parts = [(child.tag.removeprefix(namespace), (child.text or "").strip()) for child in answer]
        found.append((parts[0][1], parts[1:]))
    return found


@pytest.mark.parametrize(("name", "answers"), [
    ("question_form_answers.xml", [("nextmove", "C3"), ("likelytowin", ("notlikely",))]),
    ("question_form_answers_html_form.xml",
     [("country", "United States"), ("weather", "It's currently raining lightly")]),
])
def test_the_emulator_writes_the_documented_question_form_answers(name, answers):
    written = question_form_answers(answers)
    assert structure(written) == structure(sample(name))
    assert client_answers.parse_answers(written).fields == client_answers.parse_answers(sample(name)).fields


def test_a_crowd_form_answer_reads_the_same_written_by_the_emulator_as_documented():
    documented = client_answers.parse_answers(sample("question_form_answers_crowd_form.xml"))
    assert documented.ok and documented.fields == {
        "country": "United States", "weather": "It's currently raining lightly",
    }
    written = question_form_answers({"taskAnswers": json.dumps([documented.fields])})
    assert client_answers.parse_answers(written).fields == documented.fields


# -- HTMLQuestion and ExternalQuestion -----------------------------------------------------------


def test_the_documented_html_questions_parse_on_the_emulator():
    plain = local_questions.parse_question(sample("html_question.xml"))
    assert plain.kind == "HTMLQuestion" and plain.frame_height == 0
    assert "action='https://www.mturk.com/mturk/externalSubmit'" in (plain.html or "")
    crowd = local_questions.parse_question(sample("html_question_crowd.xml"))
    shown = crowd.for_worker()["html"]
    assert local_questions.LOCAL_CROWD_SCRIPT in shown and "assets.crowd.aws" not in shown


def test_the_documented_external_question_parses_on_the_emulator():
    question = local_questions.parse_question(sample("external_question.xml"))
    assert question.kind == "ExternalQuestion" and question.frame_height == 0
    assert question.url == "https://tictactoe.amazon.com/gamesurvey.cgi?gameid=01523"
    framed = local_questions.external_url(question.url, local_questions.worker_parameters(
        "123RVWYBAZW00EXAMPLE456RVWYBAZW00EXAMPLE", "123RVWYBAZW00EXAMPLE", "AZ3456EXAMPLE",
        "https://www.mturk.com/"))
    # the reference: the parameters join the URL's own, with one question mark
    assert framed.startswith("https://tictactoe.amazon.com/gamesurvey.cgi?gameid=01523&assignmentId=")
    assert framed.count("?") == 1


def test_the_questions_the_client_writes_read_back_the_same_on_the_emulator():
    page = "<p>a]]>b &amp; c</p>"  # a CDATA end inside the page must survive the wrapping
    html = local_questions.parse_question(client_templates.html_question(page, 700))
    assert (html.kind, html.html, html.frame_height) == ("HTMLQuestion", page, 700)
    url = "https://tasks.example.org/hit?page=p1&x=1"
    external = local_questions.parse_question(client_templates.external_question(url))
    assert (external.kind, external.url) == ("ExternalQuestion", url)
    documented_namespaces = {
        ElementTree.fromstring(sample(n).encode()).tag.split("}")[0][1:]
        for n in ("html_question.xml", "external_question.xml")
    }
    assert {client_templates.HTML_QUESTION_SCHEMA, client_templates.EXTERNAL_QUESTION_SCHEMA} == documented_namespaces


# -- botocore's service model and the service's constants ---------------------------------------


def test_the_emulator_knows_every_comparator_of_the_service_model():
    import botocore.session

    from iglu_lib.local.mturk.qualification_rules import COMPARATORS, VALUE_COUNTS

    model = botocore.session.get_session().get_service_model("mturk")
    documented = set(model.shape_for("Comparator").enum)
    assert set(VALUE_COUNTS) == documented
    assert set(COMPARATORS) == documented - {"DoesNotExist"}  # the one a missing value satisfies


def test_the_question_kinds_the_service_model_names_are_the_ones_the_emulator_reads():
    import botocore.session

    model = botocore.session.get_session().get_service_model("mturk")
    documentation = model.operation_model("CreateHIT").input_shape.members["Question"].documentation
    for kind, xml in [("QuestionForm", sample("question_form.xml")),
                      ("ExternalQuestion", sample("external_question.xml")),
                      ("HTMLQuestion", sample("html_question.xml"))]:
        assert kind in documentation
        assert local_questions.parse_question(xml).kind == kind


def test_the_duplicated_constants_match_the_clients():
    from iglu_lib.local.mturk import system_qualifications as local_system
    from iglu_lib.local.workers import TIE_OPTIONS
    from iglu_lib.mturk import system_qualifications as client_system

    assert local_system.SYSTEM_TYPES == client_system.SYSTEM_TYPES
    assert TIE_OPTIONS == client_pages.TIE_OPTIONS
    assert set(local_world.WOOLS) == set(client_events.WOOL_COLOURS)
    assert (local_world.WORLD_X, local_world.WORLD_Y, local_world.WORLD_Z) == (
        client_events.WORLD_X, client_events.WORLD_Y, client_events.WORLD_Z)


# -- completion codes, join codes, game data -----------------------------------------------------


def real_codes() -> list[tuple[str, str]]:
    """(code cell, the client's verdict) of every game in the published IGLU export."""
    with EXPORT.open(newline="", encoding="utf-8") as handle:
        return [(row["CompletionCode"], client_codes.code_status(row["CompletionCode"]))
                for row in csv.DictReader(handle)]


def test_the_real_completion_codes_decode_the_same_with_the_simulators_decoder():
    usable = [cell for cell, status in real_codes() if status == "ok"]
    assert len(usable) == 113
    for cell in usable:
        ours, theirs = local_codes.decode_completion_code(cell), client_codes.parse_completion_code(cell)
        assert (ours.tournament_id, ours.kind, ours.challenge_id, ours.task_id, ours.game_id, ours.role_id,
                ours.agent_service_id, ours.legacy) == tuple(theirs.fields().values())
        assert ours.game_blob_path == theirs.game_blob_path
        # and the simulator's encoder writes a code that decodes to the same game
        assert client_codes.parse_completion_code(ours.encoded()).fields() == theirs.fields()


def test_codes_that_are_no_codes_are_refused_by_the_simulators_decoder_too():
    refused = [cell for cell, status in real_codes()
               if status in {"not_base64", "not_gzip", "worker_id_pasted", "join_command_pasted", "empty_code"}]
    assert len(refused) == 27
    for cell in refused:
        with pytest.raises(local_codes.UnreadableCode):
            local_codes.decode_completion_code(cell)


def test_every_damaged_byte_of_a_code_is_refused_or_read_never_crashes():
    """A code is only base64 of gzip: any byte a worker's paste damages is an `UnreadableCode`
    (gzip's checksum catches what the deflate stream does not), never another exception."""
    import base64

    packed = base64.b64decode(local_codes.GameCode("t", "c", "task", "g", "r", "a").encoded())
    for index in range(len(packed)):
        for flip in (0x01, 0x80, 0xFF):
            damaged = bytearray(packed)
            damaged[index] ^= flip
            try:
                local_codes.decode_completion_code(base64.b64encode(bytes(damaged)).decode())
            except local_codes.UnreadableCode:
                pass
    truncated = local_codes.GameCode("t", "c", "task", "g", "r", "a").encoded()[:-8]
    with pytest.raises(local_codes.UnreadableCode):
        local_codes.decode_completion_code(truncated)


@pytest.mark.parametrize("legacy", [False, True])
def test_the_simulators_codes_decode_with_the_clients_decoder(legacy):
    ids = [str(uuid.uuid4()) for _ in range(5)]
    code = local_codes.GameCode(ids[0], ids[1], ids[2], ids[3], "architect-role", ids[4], legacy=legacy)
    parsed = client_codes.parse_completion_code(code.encoded())
    assert parsed.fields() == {
        "tournament_id": ids[0], "kind": "ac", "challenge_id": ids[1], "task_id": ids[2], "game_id": ids[3],
        "role_id": "architect-role", "agent_service_id": ids[4], "legacy": legacy,
    }
    assert (parsed.group_id, parsed.game_blob_path) == (code.group_id, code.game_blob_path)


@pytest.mark.parametrize("expires_at", [None, 1893456000.0])
def test_the_simulators_join_codes_read_the_same_on_both_sides(expires_at):
    join = local_codes.GameJoinCode(*(str(uuid.uuid4()) for _ in range(4)), expires_at=expires_at)
    theirs = client_codes.parse_join_code(join.text())
    assert (theirs.tournament_id, theirs.challenge_id, theirs.task_id, theirs.agent_instance_id,
            theirs.expires_at) == (join.tournament_id, join.challenge_id, join.task_id,
                                   join.agent_instance_id, expires_at)
    assert theirs.text() == join.text()
    # the client's own join codes (with expiry in milliseconds, as the HIT pages append it)
    assert local_codes.read_join_code(theirs.text()) == join


def test_the_real_task_reads_the_same_block_by_block():
    initial = json.loads((TASK / "initialGameState.json").read_text())["worldState"]["blockChanges"]
    target = json.loads((TASK / "targetGameChanges.json").read_text())[0]["worldChanges"]["blockChanges"]
    for changes in (initial, target):
        assert local_world.world_blocks(changes) == client_events.world_blocks(changes)
    blocks = local_world.world_blocks(initial)
    assert len(blocks) == 180 and sum(1 for (_, y, _), m in blocks.items() if y == 1 and m == 178) == 10


def test_a_simulated_game_of_the_real_task_is_read_by_the_client(local_profile):
    """The simulator's code decodes with the client's decoder, names the architect role of the
    real codes of this task, and its game data holds events the client's reader accepts."""
    task = {part: json.loads((TASK / f"{part}.json").read_text()) for part in ("initialGameState", "targetGameChanges")}
    platform = local_profile.backend.rehearsal().platform(tournament_id=f"own-eyes-{uuid.uuid4().hex[:8]}")
    task_id = platform.upload_tasks({"real-task": task})["real-task"]
    instance = platform.register_agent("agent-a", 1, 0.8)[0]["agent_instance_id"]
    code = platform.play(platform.join_code(task_id, instance), seed=1)

    parsed = client_codes.parse_completion_code(code)
    assert (parsed.task_id, parsed.agent_service_id) == (task_id, instance)
    real_roles = {client_codes.parse_completion_code(cell).role_id for cell, status in real_codes() if status == "ok"}
    assert real_roles == {parsed.role_id}
    blob = platform.games.download_blob(parsed.game_blob_path).readall()
    game = json.loads(blob)
    assert game["id"] == parsed.game_id and game["events"]
    assert [client_events.event_problems(event) for event in game["events"]] == [[]] * len(game["events"])
    assert {event["groupId"] for event in game["events"]} == {parsed.group_id}


# -- through the running local server ------------------------------------------------------------


def test_a_worker_answering_the_documented_form_yields_the_documented_answers(mturk, control, unique_name):
    """A QuestionForm HIT of the reference's example, answered as in the reference's answer
    example: the requester API returns that answer document, element for element."""
    hit_id = mturk.create_hit(
        Title=unique_name("docs-form"), Description="d", Reward="0.01", MaxAssignments=1,
        LifetimeInSeconds=600, AssignmentDurationInSeconds=600, Question=sample("question_form.xml"),
    )["HIT"]["HITId"]
    worker = unique_name("W").upper()
    control.set_worker(worker)
    assignment = control.accept(hit_id, worker)["assignment_id"]
    control.submit(assignment, {"nextmove": "C3", "likelytowin": ["notlikely"]})
    (stored,) = mturk.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert structure(stored["Answer"]) == structure(sample("question_form_answers.xml"))
    assert client_answers.parse_answers(stored["Answer"]).fields == {"nextmove": "C3", "likelytowin": "notlikely"}


def test_a_test_scored_by_the_documented_key_grants_the_documented_percentage(mturk, control, unique_name):
    """The reference's key (5 for `nextmove` D, 10 for `favoritefruit` apples, as a percentage of
    15) on a test that asks both as selections: 10 of 15 is 67."""
    form = (
        '<QuestionForm xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/QuestionForm.xsd">'
        + "".join(
            f"<Question><QuestionIdentifier>{q}</QuestionIdentifier><QuestionContent><Text>{q}?</Text>"
            "</QuestionContent><AnswerSpecification><SelectionAnswer><Selections>"
            + "".join(f"<Selection><SelectionIdentifier>{s}</SelectionIdentifier><Text>{s}</Text></Selection>"
                      for s in choices)
            + "</Selections></SelectionAnswer></AnswerSpecification></Question>"
            for q, choices in (("nextmove", ("C", "D")), ("favoritefruit", ("apples", "pears")))
        )
        + "</QuestionForm>"
    )
    type_id = mturk.create_qualification_type(
        Name=unique_name("docs-key"), Description="d", QualificationTypeStatus="Active",
        Test=form, AnswerKey=sample("answer_key.xml"), TestDurationInSeconds=60,
    )["QualificationType"]["QualificationTypeId"]
    worker = unique_name("W").upper()
    control.set_worker(worker)
    granted = control.request_qualification(type_id, worker, {"nextmove": "C", "favoritefruit": "apples"})
    assert granted == {"status": "Granted", "value": 67}
    assert client_key.parse_answer_key(sample("answer_key.xml")).value({"favoritefruit": "apples"}) == 67

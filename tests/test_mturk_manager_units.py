"""HIT manager pieces that need no server: pages, answer parsing, qualification files, the
spending guard of the production profile, and the retry policy's counting."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from iglu_lib.config import load_profile
from iglu_lib.mturk import HitManager, SpendingRefused, html_question, parse_answers
from iglu_lib.mturk.manager import Annotation, MTurkError
from iglu_lib.mturk.qualifications import QualificationFileError, QualificationTest
from iglu_lib.mturk.retry import RetryPolicy
from iglu_lib.pages import TemplateError, render_hit

ROOT = Path(__file__).resolve().parents[1]
QUALIFIER = ROOT / "params" / "examples" / "qualifier"
JOIN = "/plaiground:join-task-with-agent T1:C1:TASK1"
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "not-a-real-secret-000"}


def answers_xml(fields: dict, identifier: str = "taskAnswers") -> str:
    body = json.dumps([fields]).replace("&", "&amp;").replace("<", "&lt;")
    return (
        '<QuestionFormAnswers xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
        '2005-10-01/QuestionFormAnswers.xsd"><Answer><QuestionIdentifier>'
        f"{identifier}</QuestionIdentifier><FreeText>{body}</FreeText></Answer></QuestionFormAnswers>"
    )


# -- templates -------------------------------------------------------------------------------


def test_pairwise_page_shows_both_join_codes_and_escapes_the_task_name():
    page = render_hit("pairwise", {
        "task_name": '<script>alert("x")</script> & co',
        "task_join_code": JOIN,
        "agent_instance_ids": ["inst-a", "inst-b"],
        "join_code_suffix": ":exp=123",
    })
    assert f"{JOIN}:inst-a:exp=123" in page and f"{JOIN}:inst-b:exp=123" in page
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in page
    assert '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>' in page
    for name in ("joinCode1", "joinCode2", "completionCode1", "completionCode2",
                 "agent1_performance", "agent2_performance"):
        assert f'name="{name}"' in page
    assert page.count('name="best_agent"') == 4  # two assistants, and the two ties offered by default
    assert 'value="agent1_option"' in page and 'value="agent2_option"' in page
    assert 'value="both_good_option"' in page and 'value="both_bad_option"' in page
    assert '<button type="submit" id="submit-button" disabled>' in page
    assert "DecompressionStream" in page
    assert not re.search(r"<script[^>]+src=(?!\"https://assets\.crowd\.aws/)", page), "no other script source"


def test_single_and_multi_pages_have_their_fields():
    single = render_hit("single", {"task_name": "t", "task_join_code": JOIN, "agent_instance_ids": ["i1"]})
    for name in ("joinCode", "completionCode", "agent_performance", "build_rating", "understanding_rating"):
        assert f'name="{name}"' in single
    assert 'name="best_agent"' not in single
    multi = render_hit("multi", {"task_name": "t", "task_join_code": JOIN, "agent_instance_ids": ["a", "b", "c"]})
    assert 'name="completionCode3"' in multi and 'value="agent3_option"' in multi
    assert "both_good_option" not in multi, "ties are offered beside two games only"


def test_missing_variable_and_wrong_agent_count_are_named():
    with pytest.raises(TemplateError, match="'task_join_code' is undefined"):
        render_hit("single", {"task_name": "t", "agent_instance_ids": ["i1"]})
    with pytest.raises(TemplateError, match="exactly 2 agent instance"):
        render_hit("pairwise", {"task_name": "t", "task_join_code": JOIN, "agent_instance_ids": ["a"]})
    with pytest.raises(TemplateError, match="not a string"):
        render_hit("single", {"task_name": "t", "task_join_code": JOIN, "agent_instance_ids": "abc"})
    with pytest.raises(TemplateError, match="unknown HIT template 'trio'"):
        render_hit("trio", {})


def test_external_question_escapes_the_url():
    from defusedxml.ElementTree import fromstring

    from iglu_lib.mturk import external_question

    xml = external_question("https://tasks.example/run?a=1&b=<2>", frame_height=600)
    assert fromstring(xml)[0].text == "https://tasks.example/run?a=1&b=<2>"


def test_html_question_keeps_cdata_intact():
    xml = html_question("<p>a ]]> b</p>")
    assert xml.count("<![CDATA[") == 2 and "<FrameHeight>0</FrameHeight>" in xml
    from defusedxml.ElementTree import fromstring

    content = fromstring(xml)[0].text
    assert content == "<p>a ]]> b</p>"


# -- answers -----------------------------------------------------------------------------------


def test_crowd_form_answers_become_fields_and_free_text_stays_as_given():
    fields = {"joinCode1": JOIN + ":a", "completionCode1": "H4sI", "agent1_performance": "ok <b>&amp;</b>",
              "best_agent": {"agent1_option": True, "agent2_option": False}}
    parsed = parse_answers(answers_xml(fields), required=["joinCode1", "best_agent"])
    assert parsed.ok and parsed.fields == fields
    plain = parse_answers(
        "<QuestionFormAnswers><Answer><QuestionIdentifier>answer</QuestionIdentifier>"
        "<FreeText>  line one\r\nline two </FreeText></Answer></QuestionFormAnswers>"
    )
    assert plain.fields == {"answer": "  line one\nline two "}


def test_hostile_and_broken_answers_name_the_problem():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        "<QuestionFormAnswers><Answer><QuestionIdentifier>q</QuestionIdentifier>"
        "<FreeText>&lol2;</FreeText></Answer></QuestionFormAnswers>"
    )
    external = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        "<QuestionFormAnswers><Answer><QuestionIdentifier>q</QuestionIdentifier>"
        "<FreeText>&e;</FreeText></Answer></QuestionFormAnswers>"
    )
    cases = {
        bomb: "forbidden construct",
        external: "forbidden construct",
        "<QuestionFormAnswers><Answer>": "malformed",
        "": "no answer XML",
        "<Other/>": "expected <QuestionFormAnswers>",
        answers_xml({"a": 1}).replace('[{"a": 1}]', "[{not json"): "taskAnswers is not valid JSON",
        answers_xml({"a": 1}).replace('[{"a": 1}]', "[1, 2]"): "JSON list of one object",
        answers_xml({"joinCode1": "x"}): "missing field 'completionCode1'",
    }
    for xml, problem in cases.items():
        parsed = parse_answers(xml, required=["joinCode1", "completionCode1"])
        assert not parsed.ok and any(problem in p for p in parsed.problems), (xml, parsed.problems)
        assert "passwd" not in json.dumps(parsed.fields)


# -- qualifications ----------------------------------------------------------------------------


def test_example_qualifier_files_are_consistent(tmp_path):
    test = QualificationTest.from_files("q", "d", QUALIFIER / "test.xml", QUALIFIER / "answer_key.xml")
    assert test.create_arguments()["QualificationTypeStatus"] == "Active"
    key = (QUALIFIER / "answer_key.xml").read_text()
    broken_key = tmp_path / "key.xml"
    broken_key.write_text(key.replace("<QuestionIdentifier>role<", "<QuestionIdentifier>rol<"))
    with pytest.raises(QualificationFileError, match=r"key.xml: answers question\(s\) rol that .*test.xml"):
        QualificationTest.from_files("q", "d", QUALIFIER / "test.xml", broken_key)
    malformed = tmp_path / "bad.xml"
    malformed.write_text("<QuestionForm><Question>")
    with pytest.raises(QualificationFileError, match="bad.xml: malformed XML"):
        QualificationTest.from_files("q", "d", malformed, QUALIFIER / "answer_key.xml")
    with pytest.raises(QualificationFileError, match="nope.xml: file not found"):
        QualificationTest.from_files("q", "d", tmp_path / "nope.xml", QUALIFIER / "answer_key.xml")


# -- spending guard, settings, annotation --------------------------------------------------------


def test_production_profile_refuses_to_spend_without_explicit_permission():
    profile = load_profile("production", env=FAKE_AWS)
    assert not profile.spend_money
    manager = HitManager.open(profile, hit_type="pairwise", campaign="c")
    variables = {"task_name": "t", "task_join_code": JOIN, "agent_instance_ids": ["a", "b"]}
    with pytest.raises(SpendingRefused, match="CreateHIT spends real money.*'production'.*allow_spending=True"):
        manager.create_hit(variables, unique_request_token="tok-1")
    with pytest.raises(SpendingRefused, match="ApproveAssignment"):
        manager.approve("A1")
    with pytest.raises(SpendingRefused, match="SendBonus"):
        manager.bonus("W1", "A1", "0.10", "thanks", unique_request_token="b-1")
    assert "client" not in vars(manager), "the refusal happens before any client is made"


def test_profile_settings_become_create_hit_arguments():
    settings = load_profile("production", env={}).hit
    arguments = settings.create_hit_arguments()
    assert arguments["Reward"] == "1.00" and arguments["Keywords"].startswith("minecraft,game")
    assert len(arguments["QualificationRequirements"]) == 3
    from dataclasses import replace

    assert replace(settings, keywords="a, b").create_hit_arguments()["Keywords"] == "a,b"
    assert Annotation.decode(Annotation("pairwise", "camp", "tok").encode()) == Annotation("pairwise", "camp", "tok")
    assert Annotation.decode("made by hand") == Annotation(None, None)
    with pytest.raises(MTurkError, match="over MTurk's 255"):
        Annotation("pairwise", "c" * 300).encode()


def test_retry_policy_retries_throttling_only_and_counts():
    def failing(code: str, status: int, times: int):
        calls = {"n": 0}

        def operation():
            calls["n"] += 1
            if calls["n"] <= times:
                raise ClientError({"Error": {"Code": code, "Message": "m"},
                                   "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")
            return "done"

        return operation

    policy = RetryPolicy(sleep=lambda seconds: None)
    assert policy.call(failing("ThrottlingException", 400, 3)) == "done" and policy.retries == 3
    assert policy.call(failing("ServiceFault", 500, 2)) == "done" and policy.retries == 5
    with pytest.raises(ClientError):
        policy.call(failing("RequestError", 400, 1))
    assert policy.retries == 5
    with pytest.raises(ClientError):
        RetryPolicy(max_attempts=2, sleep=lambda s: None).call(failing("ThrottlingException", 400, 5))


def test_unreachable_endpoint_is_one_clear_error():
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    profile = load_profile("local", env={}, stack_state={"mturk_endpoint_url": f"http://127.0.0.1:{port}"})
    with pytest.raises(MTurkError, match=r"get_account_balance failed: .*is the endpoint reachable"):
        HitManager.open(profile).balance()

"""A campaign's own HIT pages: a template folder is rendered with sample variables and checked
for every element the loop needs (a page lacking one is named, element by element), the
shipped iglu-minecraft pages are complete once their placeholders are set, `iglu mturk preview`
writes a page to look at, and the qualifier refuses tests without a working consent rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from iglu_lib.collection.params import CampaignParams
from iglu_lib.config import ConfigError
from iglu_lib.errors import IgluError
from iglu_lib.mturk.qualifications import QualificationFileError, QualificationTest
from iglu_lib.pages.templates import (
    SAMPLE_SUFFIX,
    SAMPLE_TASK_JOIN_CODE,
    TemplateIncomplete,
    check_template,
    render_folder,
    require_complete_template,
    sample_variables,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "templates" / "iglu-minecraft"
QUALIFIER = ROOT / "params" / "examples" / "qualifier"
SET = {"minecraft_server": "mc.example.org:25565", "contact": "Jane Doe, study@example.org"}

#: A complete standalone pairwise page; each case below removes one line and expects its lack named.
STANDALONE = """<!DOCTYPE html><html><body>
<crowd-form>
{% for id in agent_instance_ids %}
<p>Join code: <code>{{ task_join_code }}:{{ id }}{{ join_code_suffix }}</code></p>
<input type="hidden" name="joinCode{{ loop.index }}" value="{{ task_join_code }}:{{ id }}{{ join_code_suffix }}">
<input type="text" name="completionCode{{ loop.index }}">
<textarea name="agent{{ loop.index }}_performance"></textarea>
<input type="radio" name="best_agent" value="agent{{ loop.index }}_option">
{% endfor %}
{% if offer_both_good %}<input type="radio" name="best_agent" value="both_good_option">{% endif %}
{% if offer_both_bad %}<input type="radio" name="best_agent" value="both_bad_option">{% endif %}
<button type="submit">Submit</button>
</crowd-form>
</body></html>
"""


def folder_with(tmp_path: Path, text: str, name: str = "pairwise.html.j2") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(("kind", "agents"), [("single", 1), ("pairwise", 2), ("multi", 3)])
def test_example_pages_are_complete_once_placeholders_are_set(kind, agents):
    assert check_template(EXAMPLE, kind, agents, SET) == []
    missing = check_template(EXAMPLE, kind, agents)
    assert len(missing) == 2 and all("placeholder" in m for m in missing)
    assert "minecraft_server" in missing[0] and "contact" in missing[1]


def test_example_page_carries_what_a_real_campaign_needs():
    page = render_folder(EXAMPLE, "pairwise", {**SET, **sample_variables(2), "task_name": "<b>Tower</b>"})
    for needed in ("mc.example.org:25565", "/end-turn", "/finish-game", "at least <strong>3 turns</strong>",
                   "15 minutes", "Example instructions", "Consent", "Jane Doe, study@example.org",
                   f"{SAMPLE_TASK_JOIN_CODE}:sample-instance-2{SAMPLE_SUFFIX}"):
        assert needed in page, needed
    assert "<b>Tower</b>" not in page and "&lt;b&gt;Tower&lt;/b&gt;" in page  # autoescaped


def test_a_complete_standalone_page_passes(tmp_path):
    assert check_template(folder_with(tmp_path, STANDALONE), "pairwise", 2) == []


@pytest.mark.parametrize(("removed", "named"), [
    ("<p>Join code: <code>{{ task_join_code }}:{{ id }}{{ join_code_suffix }}</code></p>", "join code of game 1 shown"),
    ('<input type="hidden" name="joinCode{{ loop.index }}" value="{{ task_join_code }}:{{ id }}{{ join_code_suffix }}">',
     'hidden input name="joinCode1"'),
    ('<input type="text" name="completionCode{{ loop.index }}">', 'completion-code text input name="completionCode2"'),
    ('<textarea name="agent{{ loop.index }}_performance"></textarea>', 'answer field name="agent1_performance"'),
    ('<input type="radio" name="best_agent" value="agent{{ loop.index }}_option">', 'name="best_agent"'),
    ('<button type="submit">Submit</button>', "a submit button"),
    ("<crowd-form>", "a form"),
])
def test_a_page_lacking_an_element_is_named(tmp_path, removed, named):
    text = STANDALONE.replace(removed, "").replace("</crowd-form>", "" if removed == "<crowd-form>" else "</crowd-form>")
    missing = check_template(folder_with(tmp_path, text), "pairwise", 2)
    assert any(named in m for m in missing), missing
    with pytest.raises(TemplateIncomplete) as info:
        require_complete_template(folder_with(tmp_path, text), "pairwise", 2)
    assert named in str(info.value) and isinstance(info.value, IgluError) and info.value.exit_code == 2


def test_tie_radios_are_required_when_offered_and_refused_when_switched_off(tmp_path):
    always = STANDALONE.replace("{% if offer_both_good %}", "").replace("{% if offer_both_bad %}", "").replace(
        "{% endif %}", "")
    never = STANDALONE.replace('value="both_good_option"', 'value="x"').replace('value="both_bad_option"', 'value="y"')
    off = {"offer_both_good": False, "offer_both_bad": False}
    assert check_template(folder_with(tmp_path, STANDALONE), "pairwise", 2, off) == []
    lacks = check_template(folder_with(tmp_path, never), "pairwise", 2)
    assert lacks == ['radio inputs name="best_agent" with value(s) both_bad_option, both_good_option']
    assert check_template(folder_with(tmp_path, never), "pairwise", 2, off) == []
    shows = check_template(folder_with(tmp_path, always), "pairwise", 2, {"offer_both_bad": False})
    assert len(shows) == 1 and "both_bad_option" in shows[0] and "switches it off" in shows[0]
    params = CampaignParams.from_mapping({"campaign": "c", "join_codes": "j.json", "agent_instances": "a.json",
                                          "offer_ties": {"both_bad": False}})
    assert params.tie_variables == {"offer_both_good": True, "offer_both_bad": False}
    assert params.ties_offered == ("both_good_option",)
    assert check_template(EXAMPLE, "pairwise", 2, {**SET, **params.page_variables}) == []
    page = render_folder(EXAMPLE, "pairwise", {**SET, **sample_variables(2), **params.page_variables})
    assert "Both equally good" in page and "Both bad" not in page
    assert "Both equally good" not in render_folder(EXAMPLE, "multi", {**SET, **sample_variables(3)})
    for bad in ({"both_good": "yes"}, {"tie": True}, ["both_good"]):
        with pytest.raises(ConfigError, match="offer_ties"):
            CampaignParams.from_mapping({"campaign": "c", "join_codes": "j.json", "agent_instances": "a.json",
                                         "offer_ties": bad})


def test_join_codes_without_the_expiry_suffix_or_wrong_names_are_refused(tmp_path):
    no_suffix = STANDALONE.replace("{{ join_code_suffix }}", "")
    missing = check_template(folder_with(tmp_path, no_suffix), "pairwise", 2)
    assert any("join code of game 2 shown" in m for m in missing)
    single_names = check_template(folder_with(tmp_path, STANDALONE, "single.html.j2"), "single", 1)
    assert any('name="completionCode"' in m for m in single_names)
    assert any('name="joinCode"' in m for m in single_names)


def test_missing_folder_file_or_variable_is_named(tmp_path):
    assert "does not exist" in check_template(tmp_path / "nowhere", "pairwise", 2)[0]
    assert "looked for pairwise.html.j2" in check_template(tmp_path, "pairwise", 2)[0]
    undefined = folder_with(tmp_path, STANDALONE.replace("<body>", "<body>{{ minecraft_server }}"))
    assert "minecraft_server" in check_template(undefined, "pairwise", 2)[0]


def test_a_page_may_extend_the_package_base_without_prefix(tmp_path):
    (tmp_path / "hit.html.j2").write_text((ROOT / "iglu_lib/pages/templates/multi_agent.html.j2").read_text())
    assert check_template(tmp_path, "pairwise", 2) == []
    assert check_template(tmp_path, "multi", 4) == []


def test_campaign_parameters_take_a_template_and_requirements():
    base = {"campaign": "c", "join_codes": "j.json", "agent_instances": "a.json"}
    params = CampaignParams.from_mapping({**base, "hit_template": "params/templates/iglu-minecraft",
                                          "hit_variables": SET,
                                          "qualification_requirements": [{"type": "IGLU architect", "min_score": 100}]})
    assert params.qualification_requirements == ({"type": "IGLU architect", "min_score": 100},)
    for bad in ([{"type": "x"}], [{"type": "", "min_score": 1}], [{"type": "x", "min_score": "100"}],
                [{"type": "x", "min_score": 1, "extra": 2}], ["x"]):
        with pytest.raises(ConfigError, match="qualification_requirements"):
            CampaignParams.from_mapping({**base, "qualification_requirements": bad})
    with pytest.raises(ConfigError, match="hit_template"):
        CampaignParams.from_mapping({**base, "hit_template": " "})


def _params_file(tmp_path: Path, **values) -> Path:
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump({"campaign": "c", "join_codes": "j.json", "agent_instances": "a.json",
                                    "hit_template": str(EXAMPLE), **values}))
    return path


def _preview(params: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iglu_lib.cli", "mturk", "preview", "--params", str(params),
                           "--out", str(out)], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_preview_writes_a_page_and_names_what_is_missing(tmp_path):
    out = tmp_path / "page.html"
    done = _preview(_params_file(tmp_path, hit_variables=SET), out)
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert f"{SAMPLE_TASK_JOIN_CODE}:sample-instance-1{SAMPLE_SUFFIX}" in page and "mc.example.org" in page
    unset = _preview(_params_file(tmp_path), tmp_path / "unset.html")
    assert unset.returncode == 1 and "missing: a value for variable 'minecraft_server'" in unset.stdout
    assert (tmp_path / "unset.html").is_file()


def test_example_qualifier_has_a_working_consent_rule():
    QualificationTest.from_files("q", "d", QUALIFIER / "test.xml", QUALIFIER / "answer_key.xml")


def test_qualifier_without_consent_or_with_a_key_that_pays_non_consenters_is_refused(tmp_path):
    test = (QUALIFIER / "test.xml").read_text()
    key = (QUALIFIER / "answer_key.xml").read_text()
    start, end = test.index("  <Question>\n    <QuestionIdentifier>consent"), test.index("  <Question>\n    <QuestionIdentifier>role")
    (tmp_path / "no_consent.xml").write_text(test[:start] + test[end:])
    start, end = key.index("  <Question>\n    <QuestionIdentifier>consent"), key.index("  <Question>\n    <QuestionIdentifier>role")
    (tmp_path / "no_consent_key.xml").write_text(key[:start] + key[end:])
    with pytest.raises(QualificationFileError, match="no consent question"):
        QualificationTest.from_files("q", "d", tmp_path / "no_consent.xml", tmp_path / "no_consent_key.xml")
    QualificationTest.from_files("q", "d", tmp_path / "no_consent.xml", tmp_path / "no_consent_key.xml",
                                 consent_question=None)
    # A percentage key: a worker who disagrees but answers the rest right still scores.
    ranges = key[key.index("    <RangeMapping>"):key.index("</RangeMapping>") + len("</RangeMapping>")]
    percentage = key.replace(ranges, "    <PercentageMapping><MaximumSummedScore>13</MaximumSummedScore></PercentageMapping>")
    (tmp_path / "percentage.xml").write_text(percentage)
    with pytest.raises(QualificationFileError, match="does not consent .* can still score 23"):
        QualificationTest.from_files("q", "d", QUALIFIER / "test.xml", tmp_path / "percentage.xml")


def test_external_mode_pages_render_from_the_stored_folder():
    """External-mode rows keep the folder, so the task server renders (and masks) the same page."""
    from iglu_lib.pages.templates import FOLDER_KEY, HIDDEN_CODE, render_hit, render_hit_preview

    stored = {**SET, **sample_variables(2), FOLDER_KEY: str(EXAMPLE)}
    assert "/end-turn" in render_hit("pairwise", stored) and "sample-instance-1" in render_hit("pairwise", stored)
    preview = render_hit_preview("pairwise", stored)
    assert "/end-turn" in preview and HIDDEN_CODE in preview and "sample-instance" not in preview

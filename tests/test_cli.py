import json

import click
import pytest

from kb.cli import cli
from conftest import FIXTURE_CONTENT, copy_content


@pytest.fixture
def env(index_dir):
    return {"HVKB_CONTENT": str(FIXTURE_CONTENT), "HVKB_INDEX": str(index_dir)}


def test_commands_have_help(runner):
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert command.help and "Example:" in command.help, name


def test_search_json_shape(runner, env):
    result = runner.invoke(cli, ["search", "quorom", "witness", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"query", "results", "suggestion"}
    assert data["results"][0]["id"] == "quorum-two-node-witness" or data["results"][0]["topic"] == "quorum"
    assert set(data["results"][0]) >= {"id", "title", "topic", "kind", "score", "excerpt"}
    assert data["suggestion"] == "quorum witness"


def test_search_text_output(runner, env):
    result = runner.invoke(cli, ["search", "Set-VMProcessor"], env=env)
    assert result.exit_code == 0
    assert "Moving VMs between hosts with different processors" in result.output


def test_empty_query_is_a_clear_error(runner, env):
    result = runner.invoke(cli, ["search", "   "], env=env)
    assert result.exit_code == 1
    assert "the query is empty" in result.output and "Traceback" not in result.output


def test_usage_error_exits_2(runner, env):
    assert runner.invoke(cli, ["search"], env=env).exit_code == 2
    assert runner.invoke(cli, ["search", "x", "--kind", "video"], env=env).exit_code == 2


def test_show_article_and_unknown_id(runner, env):
    result = runner.invoke(cli, ["show", "quorum"], env=env)
    assert result.exit_code == 0 and "How quorum keeps a failover cluster running" in result.output
    assert "quorum-two-node-witness" in result.output
    assert "Sources:\n  - Configure and manage quorum: https://learn.microsoft.com/" in result.output
    result = runner.invoke(cli, ["show", "nope"], env=env)
    assert result.exit_code == 1 and "no article or snippet with id 'nope'" in result.output


def test_list_json(runner, env):
    data = json.loads(runner.invoke(cli, ["list", "--json", "--kind", "snippet"], env=env).output)
    assert {d["id"] for d in data} == {"quorum-two-node-witness", "integration-services-time-sync",
                                       "cpu-compatibility-intel-amd"}
    assert all(d["article"] for d in data)


def test_check_ok_and_broken(runner, tmp_path):
    ok = runner.invoke(cli, ["check", "--content", str(FIXTURE_CONTENT)])
    assert ok.exit_code == 0 and ok.output.startswith("ok: 3 articles, 3 snippets")
    root = copy_content(FIXTURE_CONTENT, tmp_path / "c")
    (root / "articles" / "quorum.md").write_text("---\nid: quorum\ntitle: [x\n---\nbody\n")
    bad = runner.invoke(cli, ["check", "--content", str(root)])
    assert bad.exit_code == 1
    assert f"{root / 'articles' / 'quorum.md'}:3: invalid YAML" in bad.output


def test_build_refuses_broken_content(runner, tmp_path):
    root = copy_content(FIXTURE_CONTENT, tmp_path / "c")
    good = runner.invoke(cli, ["build", "--content", str(root), "--index", str(tmp_path / "ix")])
    assert good.exit_code == 0 and "Indexed 10 documents" in good.output
    (root / "articles" / "quorum.md").write_text("oops\n")
    bad = runner.invoke(cli, ["build", "--content", str(root), "--index", str(tmp_path / "ix")])
    assert bad.exit_code == 1 and "front matter" in bad.output and "hint:" in bad.output


def test_answer_json_and_text(runner, env):
    q = "Hi all, can I live migrate a running VM from our Intel host to the new AMD host? Thanks, Bob"
    data = json.loads(runner.invoke(cli, ["answer", "-", "--json"], input=q, env=env).output)
    assert data["sources"][0]["topic"] == "cpu-compatibility"
    assert data["detected"]["cpu_vendors"] == ["Intel", "AMD"]
    text = runner.invoke(cli, ["answer", "-", "--format", "text"], input=q, env=env).output
    assert "**" not in text and "No." in text


def test_answer_batch_keeps_order_and_ids(runner, env):
    lines = [json.dumps({"id": f"q{i}", "question": q}) for i, q in enumerate(
        ["do I need a witness for a 2 node cluster", "intel to amd live migration", "clock in my vm drifts"])]
    lines.insert(1, "not json")
    result = runner.invoke(cli, ["answer", "--jsonl"], input="\n".join(lines), env=env)
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o.get("id") for o in out] == ["q0", None, "q1", "q2"]
    assert "error" in out[1] and out[0]["sources"][0]["topic"] == "quorum"
    assert result.exit_code == 1  # one line failed


def test_answer_huge_input_is_refused(runner, env):
    result = runner.invoke(cli, ["answer", "-"], input="quorum " * 5000, env=env)
    assert result.exit_code == 1 and "the limit is 20,000" in result.output


def test_invalid_utf8_on_stdin(runner, env):
    result = runner.invoke(cli, ["answer", "-", "--json"], input=b"quorum witness \xff\xfe two node", env=env)
    assert result.exit_code == 0, result.output


def test_missing_content_folder_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(cli, ["search", "x", "--content", str(tmp_path / "none"), "--index", str(tmp_path / "i")])
    assert result.exit_code == 1 and "content folder not found" in result.output

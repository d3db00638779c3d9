import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from kb.cli import cli
from conftest import FIXTURE_CONTENT, ROOT, copy_content


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


# --- issue 14: base url

def _served_app(runner, env, monkeypatch, *args):
    """Run ``hvkb serve`` with the waitress call replaced: the app it would have served, or None."""
    import webapp.server

    served = []
    monkeypatch.setattr(webapp.server, "serve", lambda app, **options: served.append(app))
    result = runner.invoke(cli, ["serve", *args], env=env)
    return result, (served[0] if served else None)


def _served_draft(app) -> str:
    page = app.test_client().post("/answer", data={"question": "do I need a witness for a 2 node cluster"})
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_serve_base_url_links_drafts_to_hvkb_pages(runner, env, monkeypatch):
    result, app = _served_app(runner, env, monkeypatch, "--base-url", "https://kb.example.org/")
    assert result.exit_code == 0, result.output
    assert app.config["PUBLIC_BASE_URL"] == "https://kb.example.org"
    assert "](https://kb.example.org/articles/quorum)" in _served_draft(app)

    result, app = _served_app(runner, {**env, "HVKB_BASE_URL": "http://hvkb.lan:8000"}, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "](http://hvkb.lan:8000/articles/quorum)" in _served_draft(app)

    result, app = _served_app(runner, env, monkeypatch)
    assert result.exit_code == 0, result.output
    page = _served_draft(app)
    assert "Further reading" in page and "](/articles/" not in page and "kb.example.org" not in page


@pytest.mark.parametrize("bad", ["kb.example.org", "/articles", "ftp://kb.example.org", "https://",
                                 "https://kb.example.org/?x=1", "https://kb.example.org:port"])
def test_serve_base_url_must_be_an_absolute_http_url(runner, env, monkeypatch, bad):
    result, app = _served_app(runner, env, monkeypatch, "--base-url", bad)
    assert result.exit_code == 2 and app is None
    assert "--base-url" in result.output and "absolute http(s) URL" in result.output


# --- issue 14: cli

def test_serve_on_a_busy_port_says_so_without_a_traceback(runner, env):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(cli, ["serve", "--port", str(port)], env=env)
    assert result.exit_code == 1, result.output
    assert f"port {port} on 127.0.0.1 is already in use" in result.output and "--port" in result.output
    assert "serving on" not in result.output and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped OSError


def test_serve_says_serving_only_once_bound(monkeypatch):
    import socket

    import webapp.server

    said = []
    monkeypatch.setattr(webapp.server.SheddingServer, "run", lambda self: said.append("run"))
    with socket.socket() as probe:  # a port free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def on_bound(server):
        with socket.create_connection(("127.0.0.1", port), timeout=5):  # already accepting connections
            said.append("bound")

    webapp.server.serve(lambda environ, start: [], host="127.0.0.1", port=port, threads=1, on_bound=on_bound)
    assert said == ["bound", "run"]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_answer_at_a_terminal_says_how_to_finish(env):
    import os
    import pty
    import select
    import subprocess

    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "answer", "-", "--json"], stdin=follower,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **env})
    os.close(follower)
    try:
        ready, _, _ = select.select([proc.stderr], [], [], 30)  # said before anything is typed
        assert ready, "hvkb answer waited silently at a terminal"
        said = os.read(proc.stderr.fileno(), 4096).decode()
        assert "Paste the question, then press Ctrl-D (Ctrl-Z Enter on Windows)" in said
        os.write(leader, b"do I need a witness for a 2 node cluster\n\x04")
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        os.close(leader)
    assert proc.returncode == 0
    assert json.loads(out)["sources"][0]["topic"] == "quorum"


def test_answer_from_a_pipe_prints_no_prompt(runner, env):
    result = runner.invoke(cli, ["answer", "-", "--json"], input="quorum witness", env=env)
    assert result.exit_code == 0 and "Paste" not in result.output


def test_show_ignores_case_and_suggests_close_ids(runner, env):
    result = runner.invoke(cli, ["show", "Quorum"], env=env)
    assert result.exit_code == 0, result.output
    assert "How quorum keeps a failover cluster running" in result.output
    assert runner.invoke(cli, ["show", "QUORUM-Two-Node-Witness#why"], env=env).exit_code == 0

    result = runner.invoke(cli, ["show", "quorum-two-node-witnes"], env=env)
    assert result.exit_code == 1
    assert "no article or snippet with id 'quorum-two-node-witnes'" in result.output
    assert "hint: did you mean quorum-two-node-witness, " in result.output
    result = runner.invoke(cli, ["show", "zzzz"], env=env)
    assert "did you mean" not in result.output and "`hvkb list` shows every id" in result.output


@pytest.mark.parametrize("args, listed", [
    (["search", "witness", "--topic", "quorom"], "choose from: quorum, integration-services, cpu-compatibility"),
    (["list", "--topic", "nosuch"], "choose from: quorum, integration-services, cpu-compatibility"),
    (["search", "witness", "--version", "2013"], "Windows Server 2012 R2, Windows Server 2016"),
    (["search", "witness", "--kind", "video"], "'article', 'snippet'"),
    (["list", "--kind", "video"], "'article', 'snippet'"),
])
def test_unknown_topic_kind_or_version_is_a_usage_error(runner, env, args, listed):
    result = runner.invoke(cli, args, env=env)
    assert result.exit_code == 2, result.output
    assert listed in result.output and "Usage: " in result.output


def test_unknown_topic_suggests_the_closest_and_known_ones_take_any_case(runner, env):
    assert "(did you mean 'quorum'?)" in runner.invoke(cli, ["search", "x", "--topic", "quorom"], env=env).output
    result = runner.invoke(cli, ["search", "witness", "--topic", "Quorum", "--kind", "Snippet",
                                 "--version", "2012 r2", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert {r["id"] for r in json.loads(result.output)["results"]} == {"quorum-two-node-witness"}
    result = runner.invoke(cli, ["list", "--topic", "QUORUM", "--json"], env=env)
    assert {d["id"] for d in json.loads(result.output)} == {"quorum", "quorum-two-node-witness"}


def test_list_prints_a_header_row(runner, env):
    result = runner.invoke(cli, ["list", "--kind", "article"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["KIND", "TOPIC", "ID", "(IN", "ARTICLE)"] and lines[1].strip() == "TITLE"
    assert lines[2].split() == ["article", "cpu-compatibility", "cpu-compatibility"]


def test_topics_command(runner, env):
    result = runner.invoke(cli, ["topics"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TOPIC", "ARTICLES", "SNIPPETS", "TITLE"]
    assert lines[1].split()[:3] == ["quorum", "1", "1"] and len(lines) == 4
    data = json.loads(runner.invoke(cli, ["topics", "--json"], env=env).output)
    assert [t["id"] for t in data] == ["quorum", "integration-services", "cpu-compatibility"]
    assert data[0]["articles"] == ["quorum"] and data[0]["snippets"] == ["quorum-two-node-witness"]
    assert data[0]["title"]


def test_glossary_command(runner, env):
    result = runner.invoke(cli, ["glossary", "ic"], env=env)  # the acronym, any case
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("IC (") and "Integration" in result.stdout
    by_synonym = json.loads(runner.invoke(cli, ["glossary", "integration services", "--json"], env=env).output)
    assert [e["term"] for e in by_synonym] == ["IC"]
    every = json.loads(runner.invoke(cli, ["glossary", "--json"], env=env).output)
    assert [e["term"] for e in every] == ["FSW", "IC", "KB", "LM"]
    assert set(every[0]) >= {"term", "synonyms", "definition"}
    result = runner.invoke(cli, ["glossary", "xyzzy"], env=env)
    assert result.exit_code == 1 and "no glossary entry for 'xyzzy'" in result.output
    assert "`hvkb glossary` lists every entry" in result.output and "Traceback" not in result.output


def test_show_wraps_the_intro_like_the_body(runner, env, corpus):
    summary = corpus.articles["cpu-compatibility"].summary
    assert len(summary) > 100  # the fixture needs a long intro for this test to mean anything
    result = runner.invoke(cli, ["show", "cpu-compatibility"], env=env)
    assert result.exit_code == 0, result.output
    intro = result.stdout.split("\n\n")[1]
    assert " ".join(intro.split()) == " ".join(summary.split())
    assert "\n" in intro and max(len(line) for line in intro.splitlines()) <= 100


def _cog_check(readme: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cogapp", "--check", "--diff", str(readme)], cwd=readme.parent,
                          capture_output=True, text=True, timeout=300)


def test_readme_is_generated_from_the_tool():
    """The README's example outputs and counts are what the tool prints now: run `cog -r README.md`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for generated in ("[[[cog hvkb('hvkb search \"quorom witness\" --limit 2'", '"| hvkb answer -", ["answer", "-"]',
                      "decision \"\n         f\"snippets, a {len(kb.glossary)}-entry glossary"):
        assert generated in text, f"README.md no longer generates {generated!r} with cog"
    result = _cog_check(ROOT / "README.md")
    assert result.returncode == 0, "README.md has drifted from the tool; run `cog -r README.md`\n" + \
        result.stdout + result.stderr


@pytest.mark.slow
def test_readme_check_fails_when_an_output_drifts(tmp_path):
    for name in ("kb", "content"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\nDid you mean: quorum witness?\n" in text
    (tmp_path / "README.md").write_text(text.replace("\nDid you mean: quorum witness?\n", "\nDid you mean: x?\n"),
                                        encoding="utf-8")
    result = _cog_check(tmp_path / "README.md")
    assert result.returncode != 0 and "x?" in result.stdout + result.stderr

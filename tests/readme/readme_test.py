#!/usr/bin/env python3
"""Runs the README's shell examples as written, in the README's order.

Every fenced block whose language is `sh` or `console` carries one tag after the language
(```` ```sh run ````); a block without one fails the test, so a new example must say how it is
checked:
  run         run here, in a scratch copy of the repository's layout (build/, examples/,
              launch/, scripts/ and bench/ linked in), after the blocks before it;
  run-shared  an example on ../shared/data, run in a scratch folder of its own (the second
              mode below); skipped (exit 77) without the folder unless
              ECPS_REQUIRE_SHARED_DATA=1;
  serve       a `run` block whose last line starts `ecps serve`: it is started in the
              background and answers the console blocks that follow until the next serve block
              or the end;
  setup       the README's two top-level commands (CI runs the test command itself);
  cluster     needs machines or a Slurm cluster (tests/slurm runs the template);
  bench       benchmarks (minutes; bench/ runs them);
  transcript  a session shown for its shape only (e.g. a reload after editing files by hand).
A `console` block tagged `run`: each `$ ` line (with its `\\` continuation lines) is a command;
the lines until the next `$ ` are its expected output, and each must appear in what the command
printed (stdout and stderr). A command whose expected output starts with `ecps: error:` must
fail; every other command must succeed.

Usage: readme_test.py README BUILD_DIR            the run and serve blocks, in order
       readme_test.py README BUILD_DIR SHARED_DATA   the run-shared blocks (each stands alone)
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TAGS = {"run", "run-shared", "serve", "setup", "cluster", "bench", "transcript"}
SKIP = 77


class Block:
    def __init__(self, line, lang, tag, text):
        self.line, self.lang, self.tag, self.text = line, lang, tag, text

    def where(self):
        return f"README.md:{self.line} ({self.lang} {self.tag})"


def parse_blocks(path):
    """Every fenced block: (line of the fence, language, tag, body)."""
    blocks, errors = [], []
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*(\S*)\s*$", lines[i])
        if not m or not m.group(1):
            i += 1
            continue
        start, lang, tag = i + 1, m.group(1), m.group(2)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        body = "\n".join(lines[i + 1:j])
        if lang in ("sh", "console"):
            if tag not in TAGS:
                errors.append(f"README.md:{start}: ```{lang} block without a tag "
                              f"(one of {', '.join(sorted(TAGS))}); got '{tag}'")
            blocks.append(Block(start, lang, tag, body))
        i = j + 1
    return blocks, errors


def console_commands(body):
    """[(command, [expected lines])] of a console transcript."""
    out, cmd, expect = [], None, []
    lines = body.split("\n")
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith("$ "):
            if cmd is not None:
                out.append((cmd, expect))
            cmd, expect = line[2:], []
            while cmd.endswith("\\") and k + 1 < len(lines):
                k += 1
                cmd = cmd + "\n" + lines[k]
        elif cmd is not None and line.strip():
            expect.append(line)
        k += 1
    if cmd is not None:
        out.append((cmd, expect))
    return out


def make_scratch(source, build):
    """A folder laid out like a clone: build/ is the tested build, sources are linked."""
    root = tempfile.mkdtemp(prefix="ecps-readme-")
    repo = os.path.join(root, "repo")
    os.mkdir(repo)
    os.symlink(os.path.abspath(build), os.path.join(repo, "build"))
    for name in ("examples", "launch", "scripts", "bench"):
        os.symlink(os.path.join(source, name), os.path.join(repo, name))
    return root, repo


def run_shell(text, cwd, env, timeout):
    return subprocess.run(["bash", "-e", "-c", text], cwd=cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def start_server(block, cwd, env):
    """Runs the block's lines before its `build/ecps serve` line, then that line in the
    background until it prints `listening on`."""
    lines = block.text.split("\n")
    at = [i for i, l in enumerate(lines) if l.startswith("build/ecps serve")]
    if not at:
        raise RuntimeError(f"{block.where()}: no line starts `build/ecps serve`")
    serve = lines[at[-1]]
    r = run_shell("\n".join(lines[:at[-1]]), cwd, env, 600)
    if r.returncode != 0:
        raise RuntimeError(f"{block.where()}: exit {r.returncode}\n{r.stdout[-3000:]}")
    log = open(os.path.join(cwd, ".serve.log"), "w+")
    proc = subprocess.Popen(["bash", "-c", "exec " + serve], cwd=cwd, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        log.seek(0)
        if "listening on" in log.read():
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    log.seek(0)
    raise RuntimeError(f"{block.where()}: `{serve}` did not start:\n{log.read()[-3000:]}")


def stop_server(proc):
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def run_block(b, repo, env):
    """Runs a sh or console block; an error message, or None."""
    if b.lang == "sh":
        r = run_shell(b.text, repo, env, 900)
        if r.returncode != 0:
            return f"{b.where()}: exit {r.returncode}\n{r.stdout[-4000:]}"
        return None
    for cmd, expect in console_commands(b.text):
        r = run_shell(cmd, repo, env, 300)
        must_fail = bool(expect) and expect[0].startswith("ecps: error:")
        if (r.returncode != 0) != must_fail:
            return (f"{b.where()}: `{cmd}` exited {r.returncode} "
                    f"(expected {'failure' if must_fail else 'success'})\n{r.stdout[-4000:]}")
        missing = [e for e in expect if e not in r.stdout]
        if missing:
            return (f"{b.where()}: `{cmd}` did not print\n  " + "\n  ".join(missing)
                    + f"\nit printed:\n{r.stdout[-4000:]}")
    return None


def main():
    readme, build = sys.argv[1], sys.argv[2]
    shared = sys.argv[3] if len(sys.argv) > 3 else None
    source = os.path.dirname(os.path.abspath(readme))
    blocks, errors = parse_blocks(readme)
    for e in errors:
        print(e)
    if errors:
        return 1
    if shared is not None and not os.path.isdir(shared):
        msg = f"the README's run-shared examples need {shared}, which is missing"
        if os.environ.get("ECPS_REQUIRE_SHARED_DATA") == "1":
            print("FAILED: " + msg + " (ECPS_REQUIRE_SHARED_DATA=1)")
            return 1
        print("SKIPPED: " + msg)
        return SKIP
    env = dict(os.environ)
    env.pop("ECPS_REQUIRE_SHARED_DATA", None)
    wanted = {"run-shared"} if shared is not None else {"run", "serve"}
    ran, server, root = 0, None, None
    try:
        for b in blocks:
            if b.tag not in wanted:
                continue
            if root is None or shared is not None:  # run-shared blocks each start afresh
                stop_server(server)
                if root is not None:
                    shutil.rmtree(root, ignore_errors=True)
                root, repo = make_scratch(source, build)
                if shared is not None:
                    os.symlink(os.path.abspath(os.path.join(shared, "..")),
                               os.path.join(root, "shared"))
            print(f"--- {b.where()}", flush=True)
            t0 = time.time()
            if b.tag == "serve":
                stop_server(server)
                server = start_server(b, repo, env)
            else:
                err = run_block(b, repo, env)
                if err:
                    print(err)
                    return 1
            ran += 1
            print(f"    ok ({time.time() - t0:.1f} s)", flush=True)
    finally:
        stop_server(server)
        if root is not None and os.environ.get("ECPS_KEEP_README_SCRATCH") != "1":
            shutil.rmtree(root, ignore_errors=True)
    if ran == 0:
        print(f"no README block tagged {' or '.join(sorted(wanted))}")
        return 1
    print(f"README: {ran} blocks ran as written")
    return 0


if __name__ == "__main__":
    sys.exit(main())

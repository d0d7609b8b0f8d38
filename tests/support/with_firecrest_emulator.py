#!/usr/bin/python3
"""Runs a command against a fresh FirecREST emulator (firecrest_emulator.py beside this file).

Usage: /usr/bin/python3 with_firecrest_emulator.py [EMULATOR OPTIONS...] -- COMMAND [ARGS...]

Starts the emulator on 127.0.0.1 over a temporary directory, exports the variables FirecREST
tools read (FIRECREST_URL, FIRECREST_CLIENT_ID, FIRECREST_CLIENT_SECRET, AUTH_TOKEN_URL),
runs COMMAND with them, stops the emulator and exits with COMMAND's exit code. Used by CI to
run examples/firecrest_workflow.cpp and the CLI against the emulator; handy for trying either
by hand. Standard library only.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if "--" not in sys.argv:
        sys.stderr.write(__doc__)
        return 2
    split = sys.argv.index("--")
    emulator_args, command = sys.argv[1:split], sys.argv[split + 1:]
    if not command:
        sys.stderr.write(__doc__)
        return 2
    with tempfile.TemporaryDirectory(prefix="asyncfs-fc-") as root:
        emu = subprocess.Popen(
            ["/usr/bin/python3", "-u", "-I", os.path.join(HERE, "firecrest_emulator.py"),
             "--root", root, "--port", "0"] + emulator_args,
            stdout=subprocess.PIPE, text=True)
        try:
            port = int(emu.stdout.readline().strip() or "0")
            if port <= 0:
                sys.stderr.write("with_firecrest_emulator: the emulator did not start\n")
                return 1
            url = "http://127.0.0.1:%d" % port
            env = dict(os.environ)
            env.update({
                "FIRECREST_URL": url,
                "FIRECREST_CLIENT_ID": "asyncfs-client",
                "FIRECREST_CLIENT_SECRET": "asyncfs-secret",
                "AUTH_TOKEN_URL": url + "/auth/token",
            })
            try:
                return subprocess.run(command, env=env, timeout=600).returncode
            except subprocess.TimeoutExpired:
                sys.stderr.write("with_firecrest_emulator: the command ran for 600 s\n")
                return 1
        finally:
            emu.terminate()
            try:
                emu.wait(timeout=10)
            except subprocess.TimeoutExpired:
                emu.kill()


if __name__ == "__main__":
    sys.exit(main())

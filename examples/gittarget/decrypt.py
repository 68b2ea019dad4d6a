"""Read an encrypted Secret file back: `python -m examples.gittarget.decrypt FILE
--identity-file KEY` prints the Secret with its values in clear.

The identity file holds an age identity (`AGE-SECRET-KEY-1...`), as `age-keygen` writes it
or as the GitTarget's encryption Secret stores it; `#` comment lines are ignored. Without
`--identity-file` the identity is read from the `AGE_IDENTITY` environment variable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .content import EncryptionError, decrypt_secret, render_yaml

IDENTITY_VARIABLE = "AGE_IDENTITY"


def read_identity(text: str) -> str:
    """The first `AGE-SECRET-KEY-` line of an identity file. ValueError if there is none."""
    for line in text.splitlines():
        if line.strip().startswith("AGE-SECRET-KEY-"):
            return line.strip()
    raise ValueError("no AGE-SECRET-KEY-... line in the identity")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the decrypted Secret; exit status 1 (with the reason on stderr) on failure."""
    parser = argparse.ArgumentParser(prog="python -m examples.gittarget.decrypt")
    parser.add_argument("file", type=Path, help="an encrypted *.sops.yaml Secret file")
    parser.add_argument("--identity-file", type=Path, help=f"default: ${IDENTITY_VARIABLE}")
    args = parser.parse_args(argv)
    try:
        if args.identity_file is not None:
            identity_text = args.identity_file.read_text()
        else:
            identity_text = os.environ.get(IDENTITY_VARIABLE, "")
        secret = decrypt_secret(args.file.read_bytes(), read_identity(identity_text))
    except (OSError, ValueError, EncryptionError) as error:
        print(f"cannot decrypt {args.file}: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(render_yaml(secret).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

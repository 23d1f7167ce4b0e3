"""``ffn-sync sandbox KIND --port N``: one vendor sandbox standalone, for manual tests and demos."""

from __future__ import annotations

import argparse

from loguru import logger

from daemon.cli.checkout import SandboxesMissing, import_from_checkout
from daemon.cli.exitcodes import ExitCode
from daemon.cli.registry import Command

SANDBOX_KINDS = ("ffn", "shopify", "shopware", "woocommerce")


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", metavar="KIND", help=f"one of: {', '.join(SANDBOX_KINDS)}")
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--loopback-hosts",
        type=int,
        default=0,
        metavar="N",
        help="also answer on N more loopback addresses (127.1.0.1, 127.1.0.2, …) at the same port, so a "
        "fleet's shops can each be a host of their own as in production (default: %(default)s)",
    )


def _sandbox(args: argparse.Namespace) -> int:
    kind = args.kind.lower()
    if kind not in SANDBOX_KINDS:
        logger.error("unknown sandbox kind {!r}; choose one of: {}", args.kind, ", ".join(SANDBOX_KINDS))
        return ExitCode.USAGE
    module_name = f"sandboxes.{kind}"
    try:
        module = import_from_checkout(module_name)
        kit = import_from_checkout("sandboxes.kit")
    except SandboxesMissing as exc:
        logger.error("{}", exc)
        return ExitCode.UNAVAILABLE
    create_app = getattr(module, "create_app", None)
    if create_app is None:
        logger.error("the {} sandbox has no create_app(); the checkout is incomplete", kind)
        return ExitCode.USAGE

    try:
        also = kit.loopback_hosts(args.loopback_hosts)
    except ValueError as exc:
        logger.error("--loopback-hosts: {}", exc)
        return ExitCode.USAGE
    app = create_app()
    logger.info(
        "{} sandbox on http://{}:{}{} (test credentials: see `pydoc {}`)",
        kind,
        args.host,
        args.port,
        f" and {also[0]}…{also[-1]}" if also else "",
        module_name,
    )
    kit.serve(app, args.port, args.host, also)
    return ExitCode.OK


COMMANDS = [
    Command(
        name="sandbox",
        help="run one vendor sandbox (ffn, shopify, shopware, woocommerce) on 127.0.0.1",
        description=(
            "Serve a faithful fake of one vendor API with in-memory state and the /_sandbox/ control API. "
            "Its test credentials are documented in the sandbox module's docstring."
        ),
        handler=_sandbox,
        configure=_configure,
        order=90,
    )
]

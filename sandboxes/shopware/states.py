"""The three order state machines with Shopware's technical names and transition action names.

Transitions as installed by Shopware's base data migration (open/shipped/shipped_partially/... and
``ship``/``ship_partially``/``retour``/...), plus the ``reopen`` transitions the API notes list.
"""

from __future__ import annotations

from sandboxes.shopware.store import Row, Store, stable_id

ORDER = "order.state"
DELIVERY = "order_delivery.state"
TRANSACTION = "order_transaction.state"

# machine -> state -> {action_name: to_state}
TRANSITIONS: dict[str, dict[str, dict[str, str]]] = {
    ORDER: {
        "open": {"process": "in_progress", "cancel": "cancelled"},
        "in_progress": {"complete": "completed", "cancel": "cancelled"},
        "completed": {"reopen": "open"},
        "cancelled": {"reopen": "open"},
    },
    DELIVERY: {
        "open": {"ship": "shipped", "ship_partially": "shipped_partially", "cancel": "cancelled"},
        "shipped_partially": {
            "ship": "shipped",
            "retour": "returned",
            "retour_partially": "returned_partially",
            "reopen": "open",
            "cancel": "cancelled",
        },
        "shipped": {
            "retour": "returned",
            "retour_partially": "returned_partially",
            "reopen": "open",
            "cancel": "cancelled",
        },
        "returned_partially": {"retour": "returned", "reopen": "open", "cancel": "cancelled"},
        "returned": {"reopen": "open"},
        "cancelled": {"reopen": "open"},
    },
    TRANSACTION: {
        "open": {
            "paid": "paid",
            "paid_partially": "paid_partially",
            "authorize": "authorized",
            "process_unconfirmed": "unconfirmed",
            "remind": "reminded",
            "fail": "failed",
            "cancel": "cancelled",
        },
        "paid_partially": {"paid": "paid", "refund_partially": "refunded_partially", "cancel": "cancelled"},
        "authorized": {"paid": "paid", "paid_partially": "paid_partially", "cancel": "cancelled"},
        "unconfirmed": {"paid": "paid", "authorize": "authorized", "fail": "failed", "cancel": "cancelled"},
        "reminded": {"paid": "paid", "paid_partially": "paid_partially", "cancel": "cancelled"},
        "paid": {"refund": "refunded", "refund_partially": "refunded_partially", "cancel": "cancelled"},
        "refunded_partially": {"refund": "refunded", "reopen": "open"},
        "refunded": {"reopen": "open"},
        "failed": {"reopen": "open", "paid": "paid"},
        "cancelled": {"reopen": "open"},
    },
}

# URL entity name of the ``_action/{entity}/{id}/state/{transition}`` routes -> machine
MACHINE_OF_ENTITY = {"order": ORDER, "order_delivery": DELIVERY, "order_transaction": TRANSACTION}


class IllegalTransition(ValueError):
    def __init__(self, current: str, transition: str, possible: list[str]) -> None:
        super().__init__(
            f'Illegal transition "{transition}" from state "{current}". '
            f"Possible transitions are: {', '.join(possible)}"
        )


def state_id(machine: str, technical_name: str) -> str:
    return stable_id("state", machine, technical_name)


def install(store: Store, created_at: str) -> None:
    for machine, states in TRANSITIONS.items():
        for name in states:
            label = name.replace("_", " ").capitalize()
            store.insert(
                "state_machine_state",
                {
                    "id": state_id(machine, name),
                    "technicalName": name,
                    "name": label,
                    "stateMachineId": stable_id("machine", machine),
                    "translated": {"name": label},
                    "createdAt": created_at,
                    "updatedAt": None,
                },
            )


def technical_name(store: Store, row: Row) -> str:
    state = store.get("state_machine_state", row.get("stateId"))
    return str(state["technicalName"]) if state else "open"


def apply(store: Store, machine: str, row: Row, transition: str) -> Row:
    """Move ``row`` along ``transition``; returns the new state row or raises ``IllegalTransition``."""
    current = technical_name(store, row)
    allowed = TRANSITIONS[machine].get(current, {})
    if transition not in allowed:
        raise IllegalTransition(current, transition, sorted(allowed))
    row["stateId"] = state_id(machine, allowed[transition])
    state = store.get("state_machine_state", row["stateId"])
    assert state is not None
    return state

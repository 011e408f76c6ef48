"""How a health check command reports: one line a problem, exit 1 when any."""


def report(problems: list[str]) -> int:
    for p in problems:
        print(f"unhealthy: {p}")
    if not problems:
        print("healthy")
    return 1 if problems else 0

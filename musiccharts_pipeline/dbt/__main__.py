"""`python -m musiccharts_pipeline.dbt prepare`: dagster-dbt's preparation of the dbt project
(the manifest the definitions read), for the configured warehouse. `... env`: the variables
profiles.yml reads, as shell exports, to run dbt by hand against the configured warehouse."""

import shlex
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["env"]:
        from musiccharts_pipeline.dbt.environment import dbt_env

        for name, value in dbt_env().items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    if args != ["prepare"]:
        print("usage: python -m musiccharts_pipeline.dbt prepare|env", file=sys.stderr)
        return 2
    from musiccharts_pipeline.dbt.project import prepare

    print(f"prepared {prepare()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Mutation testing of the spec: one-edit mutants of ``specs/tcp.yaml``, each run against the behavioural tests.

Theory of operation
-------------------
``generate`` reads ``specs/tcp.yaml`` twice: through tcpfsm's own loader (the records say what each
transition means: its states, guards, actions, sends, the declared timers and the vocabulary's SEQ and
ACK sources) and through PyYAML's composer (the nodes say where each value is written, to the
character). Every mutant is then ONE text edit of the original file: a node's text replaced, padded
with newlines so that every later line keeps its number (tests and problems quote file:line). The
list is derived from the data, never typed by hand, and is deterministic (same file, same list).

``run`` copies the checkout once per job slot into a temporary folder (the package, the specs, the
tests; never ``.git`` or ``.venv``), runs the selected tests there on the unmutated spec (the
baseline, which also records which tests fire which transition), then for each mutant writes the
mutated ``specs/tcp.yaml`` into a slot and runs ``python -m pytest -x -p no:cacheprovider`` in it
with a timeout. The slot's ``tcpfsm`` is imported from the slot (the working directory comes first
on ``sys.path``, before the editable install's finder); ``_plugin`` checks that at start-up and
refuses to run otherwise. The real ``specs/`` is only read, and its hash is compared at the end.

Usage (from the checkout)::

    .venv/bin/python -m tests.mutation --list                  # the generated mutants
    .venv/bin/python -m tests.mutation --jobs 2                # run them all, report, exit 0/1
    .venv/bin/python -m tests.mutation --sample 12 --seed 1    # a subset
    .venv/bin/python -m tests.mutation --json out/mutation.json --min-kill-rate 0.9

``--help`` describes the test selection (``--tests``, ``--deselect``, ``--no-default-deselect``).
"""

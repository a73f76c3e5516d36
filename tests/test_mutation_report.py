"""bench/mutation.py's bookkeeping: how mutants are told apart, sorted and scored. A wrong score
would report the suite stronger than it is."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_mutation", ROOT / "bench" / "mutation.py")
mutation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mutation)

MESSAGE = """--- src/her2meta/x.py
+++ src/her2meta/x.py
@@ -1,3 +1,3 @@
 def f(x):
-    raise ValueError("x must be positive")
+    raise ValueError("XXx must be positiveXX")
     return x"""
OPERATOR = """--- src/her2meta/x.py
+++ src/her2meta/x.py
@@ -1,2 +1,2 @@
 def f(x):
-    return x <= 5
+    return x < 5"""


def test_a_changed_message_is_text_only_and_a_changed_operator_is_not():
    assert mutation.text_only(MESSAGE)
    assert not mutation.text_only(OPERATOR)
    assert not mutation.text_only(OPERATOR.replace("x < 5", 'x <= 5 or "a"'))


def test_the_key_names_module_and_function_and_survives_renumbering():
    key = mutation.mutation_key("her2meta.pool.tau2.x_reml__mutmut_7", OPERATOR)
    assert key.startswith("her2meta.pool.tau2:x_reml:")
    assert key == mutation.mutation_key("her2meta.pool.tau2.x_reml__mutmut_12", OPERATOR.replace("    ", "  "))
    assert key != mutation.mutation_key("her2meta.pool.tau2.x_reml__mutmut_7", MESSAGE)


def test_scores_count_equivalent_and_unrun_mutants_out_and_text_only_in():
    results = {"her2meta.m": {f"her2meta.m.x_f__mutmut_{i}": s for i, s in enumerate(
        ["killed"] * 6 + ["timeout", "survived", "survived", "no tests", "not run"])}}
    kinds = {"her2meta.m.x_f__mutmut_7": "equivalent", "her2meta.m.x_f__mutmut_8": "text_only"}
    [row] = mutation.summarize(results, kinds)
    assert (row["mutants"], row["killed"], row["timeout"], row["survived"], row["text_only"], row["no_tests"],
            row["equivalent"], row["not_run"]) == (11, 6, 1, 0, 1, 1, 1, 1)
    assert row["score"] == round(100 * 7 / 9, 1)        # 11 - 1 equivalent - 1 not run
    assert row["logic_score"] == round(100 * 7 / 8, 1)  # the text-only survivor set aside too


def test_results_are_read_from_mutmut_meta_files(tmp_path):
    meta = tmp_path / "mutants" / "src" / "her2meta" / "m.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": {"her2meta.m.x_f__mutmut_1": 1, "her2meta.m.x_f__mutmut_2": 0,
                                                     "her2meta.m.x_f__mutmut_3": None, "her2meta.m.x_f__mutmut_4": 36,
                                                     "her2meta.m.x_f__mutmut_5": 33}}))
    assert mutation.read_results(tmp_path) == {"her2meta.m": {
        "her2meta.m.x_f__mutmut_1": "killed", "her2meta.m.x_f__mutmut_2": "survived",
        "her2meta.m.x_f__mutmut_3": "not run", "her2meta.m.x_f__mutmut_4": "timeout",
        "her2meta.m.x_f__mutmut_5": "no tests"}}

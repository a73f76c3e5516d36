"""Meta-analysis pooling engine, numerically matched to R's metafor 3.8.

Main entry points::

    from her2meta.pool import rma, MetaResult
    res = rma(yi, vi, method="REML", test="z")
    res.estimate, res.ci_lb, res.tau2, res.I2, ...
    res.to_dict(); print(res.summary())

See docs/methods/pooling.md for every method, its default and its metafor
equivalent.
"""

from .errors import PoolingError, PoolingInputError
from .result import MetaResult
from .uni import rma

__all__ = ["rma", "MetaResult", "PoolingError", "PoolingInputError"]

from .binary import (BinaryPoolResult, EffectSizes, breslow_day_test, cmh_test,  # noqa: E402
                     escalc_2x2, mantel_haenszel, peto)
from .metareg import MetaRegResult, metareg  # noqa: E402
from .subgroups import SubgroupResult, subgroup_analysis  # noqa: E402

__all__ += ["escalc_2x2", "mantel_haenszel", "peto", "cmh_test", "breslow_day_test",
            "EffectSizes", "BinaryPoolResult", "metareg", "MetaRegResult",
            "subgroup_analysis", "SubgroupResult"]
from .bias import BeggResult, EggerResult, TrimFillResult, begg_test, egger_test, trimfill  # noqa: E402
from .influence import InfluenceResult, LeaveOneOutResult, influence, leave_one_out  # noqa: E402
from .proportions import ProportionResult, escalc_proportion, pool_proportions  # noqa: E402

__all__ += ["egger_test", "begg_test", "trimfill", "EggerResult", "BeggResult",
            "TrimFillResult", "leave_one_out", "influence", "LeaveOneOutResult",
            "InfluenceResult", "pool_proportions", "escalc_proportion", "ProportionResult"]

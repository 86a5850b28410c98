"""Compatibility checker: does a formula transfer to a dataset? :mod:`.check` (the ``check`` API),
:mod:`.profile_formula` (the formula's shape on the target's pre-activations), :mod:`.verdict`
(the rules, one function each), :mod:`.probe` (optional training on the training split) and :mod:`.marks`
(per-domain marks counted from measured evidence)."""

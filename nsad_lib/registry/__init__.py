"""Registry layer: the :mod:`~nsad_lib.registry.entry` schema (hash-checked, immutable ids), the
directory :mod:`~nsad_lib.registry.store` (atomic, locked writes; name resolution), references
with a scheme (:mod:`~nsad_lib.registry.resolve`: ``hf://`` is registered by the Hub layer, so
this package never imports it) and :mod:`~nsad_lib.registry.factory` (``get_act_layer``)."""

"""Torch layer: :class:`~nsad_lib.nn.activation.SymbolicActivation`, the executor that runs a
lowered formula program (fused, memory-lean forward and exact symbolic backward), and the
finiteness check that every registered formula passes (:mod:`nsad_lib.nn.finite`)."""

"""Image loading (:mod:`.load`) and preprocessing equal to transformers' (:mod:`.processor`)."""

"""The backends: ``clock``, ``exact``, ``brian2``, ``nest`` (and, from
:mod:`sparse_neuro.hardware_models.event_queue`, ``loihi-float`` / ``loihi-fixed``).

Each module registers its name, simulator factory and capabilities when imported
(:func:`sparse_neuro.neuro.engines.registry.register_backend`); the registry imports a
backend's module the first time its name is asked for, so Brian2 and NEST load only when
used. Nothing is imported here.
"""

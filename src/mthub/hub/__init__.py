"""Hub sharing: a local Hub-compatible server (:mod:`mthub.hub.server`), model cards (:mod:`mthub.hub.cards`) and
``push_to_hub`` with a generated card (:mod:`mthub.hub.push`)."""

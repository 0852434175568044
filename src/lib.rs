//! irsa-lab: the scenario engine, cluster backends and CLI. (In progress.)

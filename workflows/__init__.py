"""The engine runtime: BPMN definitions and case instances, with no web framework."""

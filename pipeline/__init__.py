"""The workflow's brain: the plan (what a scale builds) and the composition of the apps' configs.

The rule files beside it (`pipeline/rules/*.smk`) only turn the plan into jobs."""

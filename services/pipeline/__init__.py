"""The tally pipeline, one module per stage; tasks/tally.py runs each stage as a Celery task.

    plan     start: the run RUNNING, its areas in task messages sized by ballots
    area     process_areas: the areas of one task message, each read grouped, counted and staged
    contest  aggregate_contest: the staged areas added up over the area tree (area_tree, pure)
    publish  finalize: the one transaction that publishes every contest's results

Each stage is idempotent: staged rows are upserts keyed by (run, contest, area) or (run, contest),
and finalize publishes only while the run is RUNNING. Their SQL is in services.storage."""

"""What `make mutate` mutates and against which tests (local/mutate.py runs it): the core's modules, and groups of
modules each mutated against the tests that exercise them."""

from __future__ import annotations

from dataclasses import dataclass

CORE = (
    # the classifier, the error-file parser, pacing and the tenant throttle, the sweep (split into sweep, asking,
    # settle, schedule and its time budget), the outcome logic, the file copy and its sources, the message contract,
    # the item, settings and bounds
    "classify",
    "errorfile",
    "pacing",
    "throttle",
    "sweep",
    "asking",
    "settle",
    "schedule",
    "budget",
    "outcomes",
    "completion",
    "copier",
    "copygate",
    "sources",
    "message",
    "model",
    "items",
    "settings",
    "bounds",
    "shards",
    "sweep_parts",
    "expiry",
    # the 1-minute cadence, the task callbacks and the doors (issue 19), the outage watch
    "cadence",
    "callbacks",
    "doors",
    "outage",
)


@dataclass(frozen=True)
class Group:
    """Modules (paths under profile_poller/) mutated together against the tests (paths under the repository)
    that exercise them. A mutant counts in the area its module lies in (core/, adapters/, entry/)."""

    name: str
    modules: tuple[str, ...]
    tests: tuple[str, ...]
    deselect: tuple[str, ...] = ()  # tests (pytest node ids) left out: too slow for every mutant they reach


def _it(*names: str) -> tuple[str, ...]:
    return tuple(f"tests/integration/{name}.py" for name in names)


def _unit(*names: str) -> tuple[str, ...]:
    return tuple(f"tests/unit/{name}.py" for name in names)


SLOW_SCENARIOS = (
    "tests/unit/test_outage_is_not_failure.py::test_an_outage_of_hours_fails_nobody_and_requests_past_max_age_expire",
    "tests/unit/test_outage_is_not_failure.py::test_a_request_failing_while_the_others_get_answers_still_ends_failed",
    "tests/unit/test_liveness.py::test_whatever_a_port_raises_every_request_ends_once_and_the_others_keep_their_pace",
    "tests/unit/test_liveness.py::test_a_request_only_ever_failing_ends_by_max_age_and_is_announced_once",
)

# the sweep meeting an S3 or Secrets Manager fault: 23 s and 5.5 CPU s together (botocore's backoff, 8 MiB parts),
# run for every surviving mutant of the store or the producer, which they reach only as any sweep does
ARCHIVE_AND_SECRET_FAULTS = tuple(
    f"tests/integration/test_aws_faults.py::{test}"
    for test in (
        "test_an_unreadable_secret_stops_the_sweep_and_hands_every_claim_back",
        "test_an_archive_failing_mid_multipart_leaves_no_object_and_the_request_completes_later",
    )
)

GROUPS = (
    # the in-memory world's hours-long scenarios reach nearly every function of the core and take 3-13 s each: run for
    # every surviving mutant of the sweep they cost seven times the rest of tests/unit (docs/reliability.md); the
    # outage watch keeps them, in a group of its own
    Group(
        "core",
        (*(f"core/{name}.py" for name in CORE if name != "outage"), "entry/config.py"),
        ("tests/unit",),
        deselect=SLOW_SCENARIOS,
    ),
    Group(
        "outage",
        ("core/outage.py",),
        _unit("test_outage_is_not_failure", "test_an_outage_is_more_than_half_of_the_calls_failing"),
    ),
    Group(
        "dynamodb",
        ("adapters/dynamodb.py", "adapters/dynamo_items.py", "adapters/dynamo_conditions.py"),
        _unit("test_item_numbers")
        + _it(
            "test_store",
            "test_lapsed_leases",
            "test_racing_writes",
            "test_first_claim",
            "test_aws_faults",
            "test_poison_pills",  # a write the table refuses for one item (dynamo_conditions.item_refused)
            "test_a_called_back_request_finishes_without_its_token",
            "test_hostile_input",  # the only one with an item misfiled in the due index (_unindex_if_misfiled)
            "test_a_failing_table_says_which_call_failed_and_why",  # the StoreError texts, a claim refused by size
        ),
        # not test_tenant_rate.py: its two tests measure a rate in real time (a minute together), and every
        # sweeping test reaches the store's asking lease as well (take_asking: 33 other tests)
        deselect=ARCHIVE_AND_SECRET_FAULTS,
    ),
    Group(
        "operations",
        ("adapters/operations.py",),
        _unit("test_operator_reads_are_consistent_and_say_what_failed")
        + _it("test_operator_cli", "test_racing_writes", "test_operator_reads_skip_the_tenant_lease"),
    ),
    Group(
        "campaign_api",
        ("adapters/campaign_api.py",),
        _unit(
            "test_file_url_hosts",
            "test_a_refused_file_says_why",
            "test_the_key_goes_to_the_api_origin_written_with_or_without_its_port",
        )
        + _it(
            "test_campaign_api",
            "test_hostile_input",
            "test_https_through_a_proxy_and_a_private_ca",
            "test_a_status_call_neither_follows_a_redirect_nor_waits_unbounded",
            "test_only_a_connection_never_made_is_tried_again",
            "test_the_client_keeps_a_connection_open_per_concurrent_call",
            "test_a_download_reads_like_a_file",
            "test_a_status_answer_is_read_decoded_and_capped",
        ),
    ),
    Group(
        "secrets",
        ("adapters/secrets.py",),
        # (test_secrets_never_leak.py went into test_demo.py, which runs make demo: too slow for every mutant)
        _unit(
            "test_secret_parsing", "test_secret_base_url", "test_sources", "test_a_secret_that_cannot_be_used_says_why"
        )
        + _it("test_aws_adapters", "test_https_through_a_proxy_and_a_private_ca"),
    ),
    Group(
        "sftp",
        ("adapters/sftp.py", "adapters/sftp_session.py", "adapters/sftp_secret.py"),
        _unit(
            "test_sources",
            "test_host_keys_as_keyscan_prints_them",
            "test_a_bad_sftp_section_says_what_each_field_must_be",
            "test_pinned_keys_are_the_lines_naming_the_endpoint",
            "test_sftp_connections_are_shared_per_endpoint",
            "test_an_sftp_file_is_checked_before_a_byte_is_read",
            "test_an_sftp_file_streams_in_bounded_windows",
        )
        + _it(
            "test_sftp_adapter",
            "test_sftp_keys_of_each_type",
            "test_sftp_mirrors",
            "test_sftp_silent_steps",
            "test_sftp_adapter_raises_only_domain_errors",
            "test_sftp_base_dir_symlink",
            "test_sftp_endpoints_side_by_side",
            "test_sftp_file_on_an_unpinned_host",
            "test_sftp_unsized_files",
            "test_real_openssh_server",
        ),
    ),
    Group(
        "s3",
        ("adapters/s3.py",),
        _it(
            "test_aws_adapters",
            "test_archive_failures",
            "test_copy_deadlines",
            "test_large_files_go_to_s3_in_8_mib_parts",
        ),
    ),
    Group(
        "sns",
        ("adapters/sns.py", "adapters/batches.py"),
        _unit("test_publish_batches")
        + _it("test_aws_adapters", "test_refused_sends", "test_subscriber_filters", "test_poison_pills"),
    ),
    Group(
        # the issue 19 doors: the outcome event on EventBridge and the Step Functions callback
        "doors",
        ("adapters/outcome_events.py", "adapters/stepfunctions.py"),
        _unit(
            "test_outcome_event_sample",
            "test_outcome_events_fill_each_put_events_call",
            "test_task_failure_carries_its_cause",
            "test_callback_errors_keep_the_service_code",
            "test_step_functions_calls_stay_within_the_sweep_budget",  # heartbeats go on their own one-try client
        )
        + _it(
            "test_outcome_events",
            "test_waiting_workflow",
            "test_door_faults",
            "test_task_failure_callbacks_over_the_wire",
        ),
    ),
    Group(
        "registration",
        ("adapters/registrations.py", "adapters/sqs.py", "entry/register.py"),
        _unit("test_register_without_settings", "test_a_registration_the_table_fails_is_deferred")
        + _it(
            "test_registration",
            "test_registration_faults",
            "test_registration_batches",
            "test_refused_sends",
            "test_late_task_tokens_over_the_wire",  # the only tests of DynamoRegistrationStore.adopt_token
            "test_a_second_workflow_registering_through_the_function",
        ),
    ),
    Group(
        "cli",
        ("entry/cli/commands.py", "entry/cli/operator.py", "entry/cli/target.py", "entry/producer.py"),
        _unit(
            "test_task_token_registration",
            "test_registrations_from_the_future",
            "test_retry_since_takes_a_date_or_an_iso_time",
            "test_the_cli_reference_is_its_help",  # every help text, flag and choice of the parser
        )
        + _it(
            "test_cli",
            "test_operator_cli",
            "test_refused_sends",
            "test_docs_commands",
            "test_cli_future_submissions",
            "test_task_token_cli",
            "test_due_shards",
            "test_republish_finds_the_topic_of_the_stack",  # Target.topic_arn: --topic, TOPIC_ARN, the stack's output
            "test_aws_faults",  # producer._same_registration: a put retried after DynamoDB applied it
            "test_stats_shows_the_oldest_pending_age",
            "test_retry_and_republish_report_each_request",
            "test_list_shows_each_request_and_its_counts",
            "test_json_output_has_sorted_keys",
        ),
        deselect=ARCHIVE_AND_SECRET_FAULTS,
    ),
    Group(
        "runtime",
        ("entry/runtime.py", "entry/aws.py", "entry/events.py", "entry/observability.py"),
        _unit(
            "test_aws_clients",
            "test_events_and_messages",
            "test_metric_dimensions",
            "test_every_figure_is_emitted_zeros_included",
            "test_the_sftp_adapter_is_built_on_the_first_sftp_file",
        )
        + _it(
            "test_handler",
            "test_aws_faults",
            "test_stay_up_over_the_wire",
            # the handler with SFTP files (Runtime.build's LazySftp) in one test, cheaper than test_sftp_handler's four
            "test_sftp_unpinned_host_does_not_stop_the_sweep",
        ),
    ),
)

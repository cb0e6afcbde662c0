"""Parity with the tools whose specs Apollo reads, on their own public files and rules.

`tests/data/spec-cases/` holds 128 files copied from Sloth, the OpenSLO spec, oslo, the
OpenSLO go-sdk and Pyrra (SOURCE.md in each folder: repository, path, commit). `CASES` says
what each upstream makes of each file: valid files load to the SLO ids written down;
refused ones are refused with exactly the errors written down, each at its line and field,
the upstream's own reason among them. Where Apollo still refuses a file its tool accepts
(Sloth's Go plugins, MetricsQL, OpenSLO v2alpha) the reason says so.

Then one test per rule of issue 12, items 2 to 4: PromQL checked by a real parser in every
format; Sloth's label strings, empty files, v1alpha windows and budgeting; OpenSLO v1 as
strict as its SDK, references resolved across the files of one command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.files import load_slo_files
from slo.errors import InputErrors, SpecErrors
from slo.model import Period, RequestRatio, Timeslices
from slo.promql_check import MAX_OPERATORS, promql_error
from slo.specs import SLOTH_DEFAULT_PERIOD, load_slo_texts, load_slos

CASES_DIR = Path(__file__).parent / "data" / "spec-cases"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Case:
    """What the upstream says of a file (`upstream`), and what Apollo must give: SLO ids,
    or errors as (line, field, start of the reason)."""

    upstream: str
    ids: tuple[str, ...] = ()
    errors: tuple[tuple[int, str, str], ...] = ()


def ok(upstream: str, *ids: str) -> Case:
    return Case(upstream, ids=ids)


def refused(upstream: str, *errors: tuple[int, str, str]) -> Case:
    assert errors, "a refused case names its errors"
    return Case(upstream, errors=errors)


CASES: dict[str, Case] = {
    "go-sdk/decode/sequence_of_objects.yaml":
        ok("go-sdk: valid (Services it decodes)"),
    "go-sdk/decode/single_object.yaml":
        ok("go-sdk: valid (Services it decodes)"),
    "go-sdk/decode/two_documents.yaml":
        ok("go-sdk: valid (Services it decodes)"),
    "go-sdk/decode/v1_slos.yaml":
        refused("go-sdk: decoding test data without timeWindow, which its validation "
                "requires ('missing timeWindow' in pkg/openslo/v1/slo_test.go)",
                (6, "spec.timeWindow", "is required")),
    "go-sdk/decode/v2alpha_data_source.yaml":
        refused("go-sdk: valid openslo.com/v2alpha; Apollo reads openslo/v1 and v1alpha "
                "only (still refused)",
                (1, "apiVersion", "unknown spec format 'openslo.com/v2alpha'")),
    "go-sdk/decode/v2alpha_slos.yaml":
        refused("go-sdk: valid openslo.com/v2alpha; Apollo reads openslo/v1 and v1alpha "
                "only (still refused)",
                (1, "apiVersion", "unknown spec format 'openslo.com/v2alpha'"),
                (24, "apiVersion", "unknown spec format 'openslo.com/v2alpha'")),
    "go-sdk/encode/v1_slo.yaml":
        refused("go-sdk: decoding test data without timeWindow, which its validation "
                "requires ('missing timeWindow' in pkg/openslo/v1/slo_test.go)",
                (6, "spec.timeWindow", "is required")),
    "go-sdk/export/inputs/custom_config.yaml":
        refused("go-sdk: its references name objects kept elsewhere (read with a no-resolve"
                " config); resolved, they fail as the inliner fails: 'referenced at ... "
                "does not exist'",
                (39, "spec.alertPolicies[0].spec.conditions[0].conditionRef",
                 "no AlertCondition named 'cpu-usage-breach' in this file"),
                (41, "spec.alertPolicies[0].spec.notificationTargets[0].targetRef",
                 "no AlertNotificationTarget named 'devs-email-notification'"),
                (89, "spec.notificationTargets[1].targetRef",
                 "no AlertNotificationTarget named 'devs-email-notification'")),
    "go-sdk/export/inputs/v1_alert_policies.yaml":
        refused("go-sdk: exporter test data whose references name objects kept elsewhere; "
                "its inliner would fail them: 'referenced at ... does not exist'",
                (8, "spec.conditions[0].conditionRef",
                 "no AlertCondition named 'cpu-usage-breach' in this file"),
                (10, "spec.notificationTargets[0].targetRef",
                 "no AlertNotificationTarget named 'devs-email-notification'"),
                (35, "spec.notificationTargets[1].targetRef",
                 "no AlertNotificationTarget named 'devs-email-notification'")),
    "go-sdk/export/inputs/v1_slo.yaml":
        refused("go-sdk: exporter test data whose references name objects kept elsewhere; "
                "its inliner would fail them: 'referenced at ... does not exist'",
                (39, "spec.alertPolicies[0].spec.conditions[0].conditionRef",
                 "no AlertCondition named 'cpu-usage-breach' in this file")),
    "go-sdk/export/outputs/custom_config.yaml":
        refused("go-sdk: its references name objects kept elsewhere (read with a no-resolve"
                " config); resolved, they fail as the inliner fails: 'referenced at ... "
                "does not exist'",
                (13, "spec.alertPolicies[0].spec.conditions[0].conditionRef",
                 "no AlertCondition named 'cpu-usage-breach' in this file"),
                (15, "spec.alertPolicies[0].spec.notificationTargets[0].targetRef",
                 "no AlertNotificationTarget named 'devs-email-notification'"),
                (89, "spec.notificationTargets[1].targetRef",
                 "no AlertNotificationTarget named 'devs-email-notification'")),
    "go-sdk/export/outputs/v1_alert_policies.yaml":
        refused("go-sdk: exporter test data whose references name objects kept elsewhere; "
                "its inliner would fail them: 'referenced at ... does not exist'",
                (8, "spec.conditions[0].conditionRef",
                 "no AlertCondition named 'cpu-usage-breach' in this file"),
                (10, "spec.notificationTargets[0].targetRef",
                 "no AlertNotificationTarget named 'devs-email-notification'"),
                (21, "spec.notificationTargets[1].targetRef",
                 "no AlertNotificationTarget named 'devs-email-notification'")),
    "go-sdk/export/outputs/v1_slo.yaml":
        refused("go-sdk: exporter test data whose references name objects kept elsewhere; "
                "its inliner would fail them: 'referenced at ... does not exist'",
                (32, "spec.conditions[0].conditionRef",
                 "no AlertCondition named 'cpu-usage-breach' in this file")),
    "go-sdk/inline/inputs/custom_config.yaml":
        refused("go-sdk: its references name objects kept elsewhere (read with a no-resolve"
                " config); resolved, they fail as the inliner fails: 'referenced at ... "
                "does not exist'",
                (8, "spec.conditions[0].conditionRef",
                 "no AlertCondition named 'cpu-usage-breach' in this file"),
                (10, "spec.notificationTargets[0].targetRef",
                 "no AlertNotificationTarget named 'pd-on-call-notification'"),
                (17, "spec.alertPolicies[0].alertPolicyRef",
                 "no AlertPolicy named 'single-referenced-object' in this file"),
                (18, "spec.alertPolicies[1].alertPolicyRef", "no AlertPolicy named"),
                (20, "spec.indicatorRef", "no SLI named 'my-sli' in this file")),
    "go-sdk/inline/inputs/v1_alert_policies_invalid_condition.yaml":
        refused("go-sdk: the inliner fails, v1.AlertCondition 'cpu-usage-breach' referenced"
                " at 'spec.conditions[0].conditionRef' does not exist",
                (8, "spec.conditions[0].conditionRef",
                 "no AlertCondition named 'cpu-usage-breach' in this file")),
    "go-sdk/inline/inputs/v1_alert_policies_invalid_target.yaml":
        refused("go-sdk: the inliner fails, v1.AlertNotificationTarget "
                "'devs-email-notification' referenced at "
                "'spec.notificationTargets[1].targetRef' does not exist",
                (25, "spec.notificationTargets[1].targetRef",
                 "no AlertNotificationTarget named 'devs-email-notification'")),
    "go-sdk/inline/inputs/v1_alert_policies_keep_refs.yaml":
        ok("go-sdk: valid (inliner test data, references resolved in the file)"),
    "go-sdk/inline/inputs/v1_alert_policies_remove_refs.yaml":
        ok("go-sdk: valid (inliner test data, references resolved in the file)"),
    "go-sdk/inline/inputs/v1_slo.yaml":
        ok("go-sdk: valid (inliner test data, references resolved in the file)",
           "web-my-slo-1",
           "web-my-slo-2"),
    "go-sdk/inline/inputs/v1_slo_invalid_policy.yaml":
        refused("go-sdk: AlertPolicy 'no-policy' does not exist; and its thresholdMetric "
                "objective has no value, which the SDK requires once the SLI is inline",
                (9, "spec.alertPolicies[0].alertPolicyRef",
                 "no AlertPolicy named 'no-policy' in this file"),
                (18, "spec.objectives[0].value", "is required")),
    "go-sdk/inline/inputs/v1_slo_invalid_sli.yaml":
        refused("go-sdk: the inliner fails, v1.SLI 'no-sli' referenced at "
                "'spec.indicatorRef' does not exist",
                (7, "spec.indicatorRef", "no SLI named 'no-sli' in this file")),
    "go-sdk/inline/inputs/v1_slo_invalid_target.yaml":
        refused("go-sdk: the inliner fails, v1.AlertNotificationTarget "
                "'devs-email-notification' referenced at "
                "'spec.alertPolicies[0].spec.notificationTargets[1].targetRef' does not "
                "exist; and its thresholdMetric objective has no value",
                (32, "spec.alertPolicies[0].spec.notificationTargets[1].targetRef",
                 "no AlertNotificationTarget named 'devs-email-notification'"),
                (41, "spec.objectives[0].value", "is required")),
    "go-sdk/inline/outputs/custom_config.yaml":
        refused("go-sdk: its references name objects kept elsewhere (read with a no-resolve"
                " config); resolved, they fail as the inliner fails: 'referenced at ... "
                "does not exist'",
                (8, "spec.conditions[0].conditionRef",
                 "no AlertCondition named 'cpu-usage-breach' in this file"),
                (10, "spec.notificationTargets[0].targetRef",
                 "no AlertNotificationTarget named 'pd-on-call-notification'"),
                (17, "spec.alertPolicies[0].alertPolicyRef",
                 "no AlertPolicy named 'single-referenced-object' in this file"),
                (18, "spec.alertPolicies[1].alertPolicyRef", "no AlertPolicy named"),
                (20, "spec.indicatorRef", "no SLI named 'my-sli' in this file")),
    "go-sdk/inline/outputs/v1_alert_policies_keep_refs.yaml":
        ok("go-sdk: valid (inliner test data, references resolved in the file)"),
    "go-sdk/inline/outputs/v1_alert_policies_remove_refs.yaml":
        ok("go-sdk: valid (inliner test data, references resolved in the file)"),
    "go-sdk/inline/outputs/v1_slo.yaml":
        ok("go-sdk: valid (inliner test data, references resolved in the file)",
           "web-my-slo-1",
           "web-my-slo-2"),
    "go-sdk/v1/examples/alert_conditions.yaml":
        ok("go-sdk: valid (an example of its kind)"),
    "go-sdk/v1/examples/alert_notification_targets.yaml":
        ok("go-sdk: valid (an example of its kind)"),
    "go-sdk/v1/examples/alert_policies.yaml":
        refused("go-sdk: its inliner fails it, the targets it names exist in none of "
                "the examples (alert_notification_targets.yaml names others); its "
                "condition is in alert_conditions.yaml (test below)",
                (16, "spec.conditions[0].conditionRef",
                 "no AlertCondition named 'cpu-usage-breach' in this file"),
                (18, "spec.notificationTargets[0].targetRef", "no AlertNotificationTarget named"),
                (50, "spec.notificationTargets[0].targetRef",
                 "no AlertNotificationTarget named 'on-call-pd-notification'"),
                (66, "spec.conditions[0].conditionRef",
                 "no AlertCondition named 'cpu-usage-breach' in this file")),
    "go-sdk/v1/examples/data_sources.yaml":
        ok("go-sdk: valid (an example of its kind)"),
    "go-sdk/v1/examples/services.yaml":
        ok("go-sdk: valid (an example of its kind)"),
    "go-sdk/v1/examples/slis.yaml":
        ok("go-sdk: valid (an example of its kind)"),
    "go-sdk/v1/examples/slos.yaml":
        refused("go-sdk: op on a ratio objective is forbidden (oslo validate says so of the"
                " same SLO in test/outputs/validate/v1)",
                (40, "spec.objectives[0].op",
                 "is forbidden on an objective of a ratioMetric SLI")),
    "openslo/examples/budgeting-method/occurences-slo.yaml":
        ok("OpenSLO: valid (a thresholdMetric objective with op and value)",
           "web-shop-search-slo"),
    "openslo/examples/budgeting-method/ratio-timeslices.yaml":
        refused("OpenSLO: op on a ratio objective, which the go-sdk forbids (its test of "
                "these examples is skipped)",
                (32, "spec.objectives[0].op",
                 "is forbidden on an objective of a ratioMetric SLI")),
    "openslo/examples/budgeting-method/timeslices-slo.yaml":
        refused("OpenSLO: op on a ratio objective (the go-sdk forbids it; its test of these"
                " examples is skipped), and a calendar window of 1m, minutes, where the "
                "comment says a month",
                (27, "spec.timeWindow[0].duration",
                 "a calendar window is counted in d, w, M, Q or Y, got '1m'"),
                (35, "spec.objectives[0].op",
                 "is forbidden on an objective of a ratioMetric SLI")),
    "openslo/examples/treat-low-traffic-as-equally-important/timeslices-slo.yaml":
        refused("OpenSLO: op on a ratio objective, which the go-sdk forbids (its test of "
                "these examples is skipped)",
                (33, "spec.objectives[0].op",
                 "is forbidden on an objective of a ratioMetric SLI")),
    "oslo/format/invalid-service.yaml":
        refused("oslo validate: metadata.name must match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' "
                "(RFC 1123)",
                (4, "metadata.name", "must be an RFC 1123 label: lower case letters, digits and")),
    "oslo/format/list-of-services.yaml":
        ok("oslo: valid"),
    "oslo/format/two-documents.yaml":
        ok("oslo: valid"),
    "oslo/format/valid-service.yaml":
        ok("oslo: valid"),
    "oslo/validate/invalid-apiversion.yaml":
        refused("oslo validate: unsupported openslo.Version: foo",
                (1, "apiVersion", "unknown spec format 'foo'")),
    "oslo/validate/mix/1.yaml":
        refused("oslo validate: metadata.name must match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' "
                "(RFC 1123)",
                (4, "metadata.name", "must be an RFC 1123 label: lower case letters, digits and")),
    "oslo/validate/mix/2.yaml":
        refused("oslo validate: metadata.name must match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' "
                "(RFC 1123)",
                (4, "metadata.name", "must be an RFC 1123 label: lower case letters, digits and")),
    "oslo/validate/mix/3.yaml":
        refused("oslo validate: the v2alpha Service's name is no RFC 1123 label; Apollo "
                "reads no openslo.com/v2alpha (refused for its apiVersion)",
                (1, "apiVersion", "unknown spec format 'openslo.com/v2alpha'")),
    "oslo/validate/recursive/1.yaml":
        refused("oslo validate: metadata.name must match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' "
                "(RFC 1123)",
                (4, "metadata.name", "must be an RFC 1123 label: lower case letters, digits and")),
    "oslo/validate/recursive/nested/2.yaml":
        refused("oslo validate: the v2alpha Service's name is no RFC 1123 label; Apollo "
                "reads no openslo.com/v2alpha (refused for its apiVersion)",
                (1, "apiVersion", "unknown spec format 'openslo.com/v2alpha'")),
    "oslo/validate/recursive/nested/nested2/nested3/3.yaml":
        refused("oslo validate: the v2alpha Service's name is no RFC 1123 label; Apollo "
                "reads no openslo.com/v2alpha (refused for its apiVersion)",
                (1, "apiVersion", "unknown spec format 'openslo.com/v2alpha'")),
    "oslo/validate/unknown-field.yaml":
        refused("oslo validate: json: unknown field \"markdown\" (and the name)",
                (4, "metadata.name", "must be an RFC 1123 label: lower case letters, digits and"),
                (6, "spec.markdown", "unknown field")),
    "oslo/validate/v1.yaml":
        refused("oslo validate: spec.objectives[0].op is forbidden, metadata.name 'example "
                "service' (its timeZone error is its test container's missing tzdata)",
                (40, "spec.objectives[0].op",
                 "is forbidden on an objective of a ratioMetric SLI"),
                (59, "metadata.name",
                 "must be an RFC 1123 label: lower case letters, digits and")),
    "oslo/validate/v1alpha.yaml":
        refused("oslo validate: the Service's name, the Timeslices objective's "
                "timeSliceTarget; Sloth, which Apollo follows for v1alpha, also wants "
                "{{.window}}, ratioMetrics and day windows",
                (4, "metadata.name", "must be an RFC 1123 label: lower case letters, digits and"),
                (22, "spec.objectives[0].timeSliceTarget",
                 "is required with budgetingMethod: Timeslices"),
                (26, "spec.objectives[0].ratioMetrics.good.query",
                 "must hold the {{.window}} placeholder, e.g."),
                (31, "spec.objectives[0].ratioMetrics.total.query",
                 "must hold the {{.window}} placeholder, e.g."),
                (54, "spec.objectives[0].ratioMetrics",
                 "is required: Sloth reads ratioMetrics objectives only"),
                (65, "spec.timeWindows[0].unit",
                 "Sloth supports only day based time windows, got 'Month'")),
    "oslo/validate/v2alpha.yaml":
        refused("oslo validate: the v2alpha Service's name is no RFC 1123 label; Apollo "
                "reads no openslo.com/v2alpha (refused for its apiVersion)",
                (1, "apiVersion", "unknown spec format 'openslo.com/v2alpha'"),
                (38, "apiVersion", "unknown spec format 'openslo.com/v2alpha'"),
                (47, "apiVersion", "unknown spec format 'openslo.com/v2alpha'")),
    "pyrra/examples/caddy-response-latency.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "default-caddy-response-latency"),
    "pyrra/examples/docker-compose/pyrra/prometheus-http.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-prometheus-api-query"),
    "pyrra/examples/kubernetes/manifests/slos/slo-apiserver-read-cluster-latency.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-apiserver-read-cluster-latency"),
    "pyrra/examples/kubernetes/manifests/slos/slo-apiserver-read-namespace-latency.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-apiserver-read-namespace-latency"),
    "pyrra/examples/kubernetes/manifests/slos/slo-apiserver-read-resource-latency.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-apiserver-read-resource-latency"),
    "pyrra/examples/kubernetes/manifests/slos/slo-apiserver-read-response-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-apiserver-read-response-errors"),
    "pyrra/examples/kubernetes/manifests/slos/slo-apiserver-write-response-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-apiserver-write-response-errors"),
    "pyrra/examples/kubernetes/manifests/slos/slo-coredns-response-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-coredns-response-errors"),
    "pyrra/examples/kubernetes/manifests/slos/slo-kubelet-request-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-kubelet-request-errors"),
    "pyrra/examples/kubernetes/manifests/slos/slo-kubelet-runtime-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-kubelet-runtime-errors"),
    "pyrra/examples/kubernetes/manifests/slos/slo-prometheus-notification-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-prometheus-notification-errors"),
    "pyrra/examples/kubernetes/manifests/slos/slo-prometheus-operator-http-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-prometheus-operator-http-errors"),
    "pyrra/examples/kubernetes/manifests/slos/slo-prometheus-operator-reconcile-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-prometheus-operator-reconcile-errors"),
    "pyrra/examples/kubernetes/manifests/slos/slo-prometheus-query-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-prometheus-query-errors"),
    "pyrra/examples/kubernetes/manifests/slos/slo-prometheus-rule-evaluation-failures.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-prometheus-rule-evaluation-failures"),
    "pyrra/examples/kubernetes/manifests/slos/slo-prometheus-sd-kubernetes-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-prometheus-sd-kubernetes-errors"),
    "pyrra/examples/mimir/example-slo.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "default-apiserver-read-cluster-latency"),
    "pyrra/examples/nginx.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-nginx-api-errors",
           "monitoring-nginx-api-latency"),
    "pyrra/examples/parca-grpc-queryrange-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "parca-parca-grpc-queryrange-errors"),
    "pyrra/examples/prometheus-http.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "default-prometheus-api-query"),
    "pyrra/examples/prometheus-operator.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-prometheus-operator-http"),
    "pyrra/examples/prometheus-probe-success.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "default-prometheus-blackbox-probe-success"),
    "pyrra/examples/pyrra-connect-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-pyrra-connect-errors"),
    "pyrra/examples/pyrra-connect-latency.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-pyrra-connect-latency"),
    "pyrra/examples/pyrra-filesystem-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-pyrra-filesystem-errors"),
    "pyrra/examples/pyrra-kubernetes-errors.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-pyrra-kubernetes-errors"),
    "pyrra/examples/thanos-grpc.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-thanos-store"),
    "pyrra/examples/thanos-http.yaml":
        ok("Pyrra: valid (an example its webhook validate() passes)",
           "monitoring-thanos-query"),
    "sloth/examples/contrib-denominator-corrected.yaml":
        refused("Sloth: valid, it runs the plugin's Go code; Apollo cannot run Go (still "
                "refused)",
                (11, "spec.sloPlugins.chain",
                 "Sloth SLO plugins run Go code, which Apollo cannot run")),
    "sloth/examples/contrib-slo-plugins.yml":
        refused("Sloth: valid, it runs the plugin's Go code; Apollo cannot run Go (still "
                "refused)",
                (13, "slos[0].plugins.chain",
                 "Sloth SLO plugins run Go code, which Apollo cannot run"),
                (44, "slos[1].plugins.chain",
                 "Sloth SLO plugins run Go code, which Apollo cannot run")),
    "sloth/examples/getting-started.yml":
        ok("Sloth: valid (an example generated in examples/_gen)",
           "myservice-requests-availability"),
    "sloth/examples/home-wifi.yml":
        ok("Sloth: valid (an example generated in examples/_gen)",
           "home-wifi-good-wifi-client-satisfaction",
           "home-wifi-risk-wifi-client-satisfaction"),
    "sloth/examples/k8s-getting-started.yml":
        ok("Sloth: valid (an example generated in examples/_gen)",
           "myservice-requests-availability"),
    "sloth/examples/k8s-home-wifi.yml":
        ok("Sloth: valid (an example generated in examples/_gen)",
           "home-wifi-good-wifi-client-satisfaction",
           "home-wifi-risk-wifi-client-satisfaction"),
    "sloth/examples/k8s-multifile.yml":
        ok("Sloth: valid (an example generated in examples/_gen)",
           "myservice-requests-availability",
           "myservice2-requests-availability"),
    "sloth/examples/kubernetes-apiserver.yml":
        ok("Sloth: valid (an example generated in examples/_gen)",
           "k8s-apiserver-requests-availability",
           "k8s-apiserver-requests-latency"),
    "sloth/examples/multifile.yml":
        ok("Sloth: valid (an example generated in examples/_gen)",
           "myservice-requests-availability",
           "myservice2-requests-availability"),
    "sloth/examples/no-alerts.yml":
        ok("Sloth: valid (an example generated in examples/_gen)",
           "myapp-http-availability"),
    "sloth/examples/openslo-getting-started.yml":
        ok("Sloth: valid (an example generated in examples/_gen)",
           "my-service-sloth-slo-my-service-0"),
    "sloth/examples/openslo-kubernetes-apiserver.yml":
        ok("Sloth: valid (an example generated in examples/_gen)",
           "k8s-apiserver-requests-availability-openslo-0",
           "k8s-apiserver-requests-latency-openslo-0",
           "k8s-apiserver-requests-latency-openslo-1"),
    "sloth/examples/plugin-getting-started.yml":
        refused("Sloth: valid, it runs the plugin's Go code; Apollo cannot run Go (still "
                "refused)",
                (13, "slos[0].sli.plugin",
                 "SLI plugins run Sloth's Go code, which Apollo cannot run")),
    "sloth/examples/plugin-k8s-getting-started.yml":
        refused("Sloth: valid, it runs the plugin's Go code; Apollo cannot run Go (still "
                "refused)",
                (27, "spec.slos[0].sli.plugin",
                 "SLI plugins run Sloth's Go code, which Apollo cannot run")),
    "sloth/examples/raw-home-wifi.yml":
        ok("Sloth: valid (an example generated in examples/_gen)",
           "home-wifi-wifi-client-satisfaction"),
    "sloth/examples/slo-plugin-getting-started.yml":
        refused("Sloth: valid, it runs the plugin's Go code; Apollo cannot run Go (still "
                "refused)",
                (8, "slo_plugins.chain",
                 "Sloth SLO plugins run Go code, which Apollo cannot run"),
                (22, "slos[0].plugins.chain",
                 "Sloth SLO plugins run Go code, which Apollo cannot run")),
    "sloth/examples/slo-plugin-k8s-getting-started.yml":
        refused("Sloth: valid, it runs the plugin's Go code; Apollo cannot run Go (still "
                "refused)",
                (18, "spec.sloPlugins.chain",
                 "Sloth SLO plugins run Go code, which Apollo cannot run"),
                (30, "spec.slos[0].plugins.chain",
                 "Sloth SLO plugins run Go code, which Apollo cannot run")),
    "sloth/examples/victoria-metrics.yml":
        refused("Sloth: valid with its VictoriaMetrics plugin (MetricsQL, not PromQL); "
                "Apollo queries Prometheus (still refused)",
                (11, "slo_plugins.chain",
                 "Sloth SLO plugins run Go code, which Apollo cannot run"),
                (27, "slos[0].sli.events.error_query",
                 "not valid PromQL: unknown function with name"),
                (28, "slos[0].sli.events.total_query",
                 "not valid PromQL: ranges only allowed for vector selectors"),
                (44, "slos[1].sli.events.error_query",
                 "not valid PromQL: unknown function with name"),
                (45, "slos[1].sli.events.total_query",
                 "not valid PromQL: ranges only allowed for vector selectors")),
    "sloth/testdata/in-base-k8s.yaml":
        ok("Sloth: valid (input of its generate golden tests)",
           "svc01-slo1",
           "svc01-slo02"),
    "sloth/testdata/in-base.yaml":
        ok("Sloth: valid (input of its generate golden tests)",
           "svc01-slo1",
           "svc01-slo02"),
    "sloth/testdata/in-invalid-version.yaml":
        refused("Sloth: refused, its generate test expects an error for version "
                "prometheus/v999",
                (1, "version", "unknown Sloth spec version 'prometheus/v999', expected")),
    "sloth/testdata/in-multifile-k8s.yaml":
        ok("Sloth: valid (input of its generate golden tests)",
           "svc01-slo1",
           "svc01-slo02",
           "svc02-slo1",
           "svc02-slo02"),
    "sloth/testdata/in-multifile.yaml":
        ok("Sloth: valid (input of its generate golden tests)",
           "svc01-slo1",
           "svc01-slo02",
           "svc02-slo1",
           "svc02-slo02"),
    "sloth/testdata/in-openslo.yaml":
        ok("Sloth: valid (input of its generate golden tests)",
           "svc01-slo1-0"),
    "sloth/testdata/in-sli-plugin.yaml":
        refused("Sloth: valid, it runs the plugin's Go code; Apollo cannot run Go (still "
                "refused)",
                (11, "slos[0].sli.plugin",
                 "SLI plugins run Sloth's Go code, which Apollo cannot run")),
    "sloth/testdata/in-slo-plugin-k8s.yaml":
        refused("Sloth: valid, it runs the plugin's Go code; Apollo cannot run Go (still "
                "refused)",
                (11, "spec.sloPlugins.chain",
                 "Sloth SLO plugins run Go code, which Apollo cannot run"),
                (29, "spec.slos[0].plugins.chain",
                 "Sloth SLO plugins run Go code, which Apollo cannot run")),
    "sloth/testdata/in-slo-plugin.yaml":
        refused("Sloth: valid, it runs the plugin's Go code; Apollo cannot run Go (still "
                "refused)",
                (7, "slo_plugins.chain",
                 "Sloth SLO plugins run Go code, which Apollo cannot run"),
                (23, "slos[0].plugins.chain",
                 "Sloth SLO plugins run Go code, which Apollo cannot run")),
    "sloth/testdata/validate/bad/bad-aa.yaml":
        refused("Sloth: refused, objective must >0 and <=100 (101)",
                (28, "slos[1].objective", "must be at most 100, got 101")),
    "sloth/testdata/validate/bad/bad-ab.yaml":
        refused("Sloth: refused, objective must >0 and <=100 (101)",
                (28, "slos[1].objective", "must be at most 100, got 101")),
    "sloth/testdata/validate/bad/bad-ba.yaml":
        refused("Sloth: refused, objective must >0 and <=100 (101)",
                (28, "slos[1].objective", "must be at most 100, got 101")),
    "sloth/testdata/validate/bad/bad-k8s.yaml":
        refused("Sloth: refused, invalid SLO service: required",
                (7, "spec.service", "must not be empty")),
    "sloth/testdata/validate/bad/bad-multi-k8s.yaml":
        refused("Sloth: refused, alert name is required",
                (22, "spec.slos[0].alerting.name",
                 "is required unless pageAlert and ticketAlert are both")),
    "sloth/testdata/validate/bad/bad-multi.yaml":
        refused("Sloth: refused, at least one SLI type is required",
                (77, "slos[1].sli", "one SLI kind is required: events, raw, plugin")),
    "sloth/testdata/validate/bad/bad-openslo.yaml":
        ok("Sloth: in validate/bad, yet valid alone since Sloth took any day count "
           "(6edc15a, 2021-10; the file dates from 7ed8f11, 2021-06, when 30 days were"
           " the rule): its test only asks that the folder fails, which it does for "
           "the other files",
           "svc01-slo1-0"),
    "sloth/testdata/validate/good/good-aa.yaml":
        ok("Sloth: valid (the validate/good folder validates)",
           "svc01-slo1",
           "svc01-slo02"),
    "sloth/testdata/validate/good/good-ab.yaml":
        ok("Sloth: valid (the validate/good folder validates)",
           "svc01-slo1",
           "svc01-slo02"),
    "sloth/testdata/validate/good/good-ba.yaml":
        ok("Sloth: valid (the validate/good folder validates)",
           "svc01-slo1",
           "svc01-slo02"),
    "sloth/testdata/validate/good/good-k8s.yaml":
        ok("Sloth: valid (the validate/good folder validates)",
           "svc01-slo1",
           "svc01-slo02"),
    "sloth/testdata/validate/good/good-multi-k8s.yaml":
        ok("Sloth: valid (the validate/good folder validates)",
           "svc01-slo1",
           "svc01-slo02",
           "svc02-slo1",
           "svc02-slo02"),
    "sloth/testdata/validate/good/good-multi.yaml":
        ok("Sloth: valid (the validate/good folder validates)",
           "svc01-slo1",
           "svc01-slo02",
           "svc02-slo1",
           "svc02-slo02"),
    "sloth/testdata/validate/good/good-openslo.yaml":
        ok("Sloth: valid (the validate/good folder validates)",
           "svc01-slo1-0"),
    "sloth/testdata/validate_with_duplicates/bad-prom-multi-duplicates.yaml":
        refused("Sloth: refused, SLO duplicated (the same ids twice in one file)",
                (51, "name", "SLO id 'svc01-slo1' is already used at line 7"),
                (72, "name", "SLO id 'svc01-slo02' is already used at line 28")),
    "sloth/testdata/validate_with_duplicates/k8s/bad-k8s-1-duplicate.yaml":
        ok("Sloth: valid alone; refused with its twin, SLO duplicated (test below)",
           "svc01-slo1",
           "svc01-slo02"),
    "sloth/testdata/validate_with_duplicates/k8s/bad-k8s-1-original.yaml":
        ok("Sloth: valid alone; refused with its twin, SLO duplicated (test below)",
           "svc01-slo1",
           "svc01-slo02"),
    "sloth/testdata/validate_with_duplicates/openslo/bad-openslo-1-duplicate.yaml":
        ok("Sloth: valid alone; refused with its twin, SLO duplicated (test below)",
           "svc01-slo1-0"),
    "sloth/testdata/validate_with_duplicates/openslo/bad-openslo-1-original.yaml":
        ok("Sloth: valid alone; refused with its twin, SLO duplicated (test below)",
           "svc01-slo1-0"),
    "sloth/testdata/validate_with_duplicates/prom/bad-prom-1-duplicate.yaml":
        ok("Sloth: valid alone; refused with its twin, SLO duplicated (test below)",
           "svc01-slo1",
           "svc01-slo02"),
    "sloth/testdata/validate_with_duplicates/prom/bad-prom-1-original.yaml":
        ok("Sloth: valid alone; refused with its twin, SLO duplicated (test below)",
           "svc01-slo1",
           "svc01-slo02"),
}

VALID = sorted(p for p, c in CASES.items() if not c.errors)
INVALID = sorted(p for p, c in CASES.items() if c.errors)


def load_case(path: str) -> Any:
    return load_slos((CASES_DIR / path).read_bytes(), path=path)


def errors_of(text: str, path: str = "x.yaml") -> list[tuple[int | None, str, str]]:
    with pytest.raises(SpecErrors) as info:
        load_slos(text, path=path)
    return [(e.line, e.field, e.reason) for e in info.value.errors]


# --- every public case ----------------------------------------------------------------------


def test_every_case_file_is_written_down_with_its_source():
    files = {p.relative_to(CASES_DIR).as_posix() for p in CASES_DIR.rglob("*.y*ml")}
    assert files == set(CASES)
    listed = "".join((CASES_DIR / source / "SOURCE.md").read_text()
                     for source in {p.split("/")[0] for p in CASES})
    missing = [p for p in CASES if f"| {p.split('/', 1)[1]} |" not in listed]
    assert missing == []
    assert len(VALID) + len(INVALID) >= 80


@pytest.mark.parametrize("path", VALID)
def test_a_public_case_its_tool_accepts_loads_to_its_slos(path):
    slos = load_case(path)
    assert tuple(s.id for s in slos) == CASES[path].ids
    assert all(s.source.path == path and s.source.line for s in slos)


@pytest.mark.parametrize("path", INVALID)
def test_a_public_case_its_tool_refuses_is_refused_for_that_reason(path):
    with pytest.raises(SpecErrors) as info:
        load_case(path)
    got = [(e.line, e.field, e.reason) for e in info.value.errors]
    expected = CASES[path].errors
    assert [(line, field) for line, field, _ in got] == [(ln, f) for ln, f, _ in expected]
    for (_, _, reason), (_, _, start) in zip(got, expected, strict=True):
        assert reason.startswith(start)
    assert all(str(e).startswith(f"{path}:{e.line}: {e.field}: ") for e in info.value.errors)


def test_sloths_validate_bad_folder_fails_as_a_whole_though_bad_openslo_loads_alone():
    folder = sorted((CASES_DIR / "sloth/testdata/validate/bad").glob("*.yaml"))
    with pytest.raises(InputErrors) as info:
        load_slo_files(folder)
    failing = {Path(e.path).name for e in info.value.errors}
    assert failing == {p.name for p in folder} - {"bad-openslo.yaml"}
    (slo,) = load_case("sloth/testdata/validate/bad/bad-openslo.yaml")
    assert slo.period == Period(28 * DAY)


@pytest.mark.parametrize("folder", ["k8s", "openslo", "prom"])
def test_sloths_duplicate_twins_load_alone_and_are_refused_together(folder):
    twins = sorted((CASES_DIR / "sloth/testdata/validate_with_duplicates" / folder).iterdir())
    ids = [s.id for s in load_case(twins[0].relative_to(CASES_DIR).as_posix())]
    with pytest.raises(InputErrors) as info:
        load_slo_files(twins)
    assert [e.reason.split(" is also defined at ")[0] for e in info.value.errors] == [
        f"SLO id {i!r}" for i in ids]


# --- item 2: PromQL checked by a real parser, in every format ---------------------------------

BROKEN = "sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}])"  # one ) short
PARSER_SAYS = "not valid PromQL: unclosed left parenthesis"
PYRRA_BROKEN = 'http_requests_total{code="5.."'  # Pyrra's metrics are selectors

SPECS = {  # format: (text with BROKEN in one query, line and field of that query)
    "apollo/v1": ("""\
apiVersion: apollo/v1
kind: SLO
service: api
name: availability
objective: 99.9
sli:
  request_ratio:
    errors: 'BROKEN'
    total: 'sum(rate(http_requests_total[{{.window}}]))'
""", 8, "sli.request_ratio.errors"),
    "prometheus/v1": ("""\
version: prometheus/v1
service: api
slos:
  - name: availability
    objective: 99.9
    sli:
      raw:
        error_ratio_query: 'BROKEN'
    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}
""", 8, "slos[0].sli.raw.error_ratio_query"),
    "sloth.slok.dev/v1": ("""\
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata: {name: api}
spec:
  service: api
  slos:
    - name: availability
      objective: 99.9
      sli:
        events:
          errorQuery: 'BROKEN'
          totalQuery: 'sum(rate(http_requests_total[{{.window}}]))'
      alerting: {pageAlert: {disable: true}, ticketAlert: {disable: true}}
""", 11, "spec.slos[0].sli.events.errorQuery"),
    "openslo/v1alpha": ("""\
apiVersion: openslo/v1alpha
kind: SLO
metadata: {name: availability}
spec:
  service: api
  budgetingMethod: Occurrences
  objectives:
    - target: 0.999
      ratioMetrics:
        good: {source: prometheus, queryType: promql, query: 'BROKEN'}
        total: {source: prometheus, queryType: promql,
                query: 'sum(rate(http_requests_total[{{.window}}]))'}
""", 10, "spec.objectives[0].ratioMetrics.good.query"),
    "openslo/v1": ("""\
apiVersion: openslo/v1
kind: SLO
metadata: {name: latency}
spec:
  service: api
  budgetingMethod: Timeslices
  timeWindow: [{duration: 28d, isRolling: true}]
  indicator:
    metadata: {name: p99}
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: 'BROKEN'
  objectives:
    - {op: lte, value: 0.3, target: 0.99, timeSliceTarget: 0.95, timeSliceWindow: 1m}
""", 15, "spec.indicator.spec.thresholdMetric.metricSource.spec.query"),
    "pyrra.dev/v1alpha1": ("""\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: api}
spec:
  target: "99.9"
  window: 28d
  indicator:
    ratio:
      errors: {metric: 'BROKEN'}
      total: {metric: http_requests_total}
""", 9, "spec.indicator.ratio.errors.metric"),
}


@pytest.mark.parametrize("fmt", list(SPECS))
def test_a_query_with_a_syntax_error_is_refused_at_its_field_with_the_parsers_message(fmt):
    text, line, field = SPECS[fmt]
    broken = PYRRA_BROKEN if fmt == "pyrra.dev/v1alpha1" else BROKEN
    with pytest.raises(SpecErrors) as info:
        load_slos(text.replace("BROKEN", broken), path="specs/x.yaml")
    (error,) = info.value.errors
    assert (error.line, error.field) == (line, field)
    if fmt == "pyrra.dev/v1alpha1":  # a selector: Apollo's selector reader says where
        assert error.reason.startswith(f"cannot read {PYRRA_BROKEN!r}: ")
    else:
        assert error.reason == PARSER_SAYS
    assert str(error) == f"specs/x.yaml:{line}: {field}: {error.reason}"


@pytest.mark.parametrize("fmt", list(SPECS))
def test_the_same_spec_with_the_query_mended_loads(fmt):
    text, _, _ = SPECS[fmt]
    mended = BROKEN + ")" if fmt != "pyrra.dev/v1alpha1" else PYRRA_BROKEN + "}"
    text = text.replace("BROKEN", mended)
    assert len(load_slos(text, path="specs/x.yaml")) == 1


def test_the_window_is_filled_in_before_parsing_as_sloth_does():
    assert promql_error("rate(x[{{.window}}])") is None
    assert promql_error("rate(x[{{ .window }}])") is None
    assert promql_error("rate(x)") == (
        "not valid PromQL: expected type matrix in call to function 'rate', got vector")


def test_backtick_strings_are_raw_as_in_promql():
    assert promql_error('x{path=~`\\d+`}') is None
    assert promql_error('x{path=~"\\d+"}') == "not valid PromQL: unknown escape sequence 'd'"


def test_a_query_too_deep_for_the_parser_is_refused_before_it():
    deep = "(" * 20_000 + "x" + ")" * 20_000  # would overflow the Rust parser's stack
    assert promql_error(deep) == (f"too complex to check: 20,000 operators and brackets, "
                                  f"at most {MAX_OPERATORS} (an SLO query holds a few dozen)")
    chain = " + ".join(["x"] * (MAX_OPERATORS + 2))
    assert (promql_error(chain) or "").startswith("too complex to check: 501 operators")
    assert promql_error(" + ".join(["x"] * (MAX_OPERATORS + 1))) is None


def run(*args: str) -> Any:
    from typer.testing import CliRunner

    from services.cli.main import app

    return CliRunner().invoke(app, list(args))


def test_validate_refuses_a_query_with_a_syntax_error_and_rules_writes_nothing(tmp_path):
    text, line, field = SPECS["prometheus/v1"]
    spec = tmp_path / "api.yaml"
    spec.write_text(text.replace("BROKEN", BROKEN))
    result = run("slo", "validate", str(spec))
    assert result.exit_code != 0
    assert f"{spec}:{line}: {field}: {PARSER_SAYS}" in str(result.exception)
    out = tmp_path / "rules"
    result = run("slo", "rules", str(spec), "-o", str(out))
    assert result.exit_code != 0
    assert not out.exists() or not any(out.iterdir())


# --- item 3: Sloth parity ---------------------------------------------------------------------

SLOTH_LABELS = """\
version: prometheus/v1
service: api
labels:
  VALUE
slos:
  - name: availability
    objective: 99.9
    sli: {raw: {error_ratio_query: 'sum(rate(errors[{{.window}}]))'}}
    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}
"""


@pytest.mark.parametrize(("written", "text"), [
    pytest.param("generated: true", "true", id="a boolean"),
    pytest.param("tier: 2", "2", id="an integer"),
    pytest.param("tier: 0x10", "16", id="hexadecimal"),
    pytest.param("tier: 0o17", "15", id="octal, which PyYAML leaves as text"),
    pytest.param("ratio: 2.50", "2.5", id="a float"),
    pytest.param("big: 1234567.0", "1.234567e+06", id="a float from 1e6 on, as Go's %g"),
    pytest.param("third: 0.3333333333", "0.33333334", id="a float, float32 digits"),
    pytest.param("million: 1e6", "1e+06", id="1e6, a float to go-yaml, text to PyYAML"),
    pytest.param("paging: yes", "true", id="yes"),
    pytest.param("paging: y", "true", id="y, a boolean to go-yaml only"),
    pytest.param("paging: off", "false", id="off"),
    pytest.param("duration: 1:30", "1:30", id="base 60 to PyYAML, text to go-yaml"),
    pytest.param("since: 2024-01-02", "2024-01-02T00:00:00Z", id="a date"),
    pytest.param("team: '007'", "007", id="quoted text stays as written"),
])
def test_unquoted_sloth_label_values_are_stringified_as_sloths_loader_does(written, text):
    (slo,) = load_slos(SLOTH_LABELS.replace("VALUE", written), path="api.yaml")
    assert slo.labels == {written.split(":")[0]: text}


@pytest.mark.parametrize(("written", "reason"), [
    pytest.param("team:", "is required", id="null: Sloth's 'label value is required'"),
    pytest.param("team: ''", "must not be empty", id="empty text"),
    pytest.param("team: [a, b]", "must be a string, got a list", id="a list"),
])
def test_sloth_label_values_that_are_no_scalar_text_are_still_refused(written, reason):
    assert errors_of(SLOTH_LABELS.replace("VALUE", written)) == [(4, "labels.team", reason)]


def test_the_kubernetes_crd_still_refuses_unquoted_numbers_as_kubernetes_decoding_does():
    text = (CASES_DIR / "sloth/examples/k8s-getting-started.yml").read_text()
    assert '    tier: "2"\n' in text
    errors = errors_of(text.replace('    tier: "2"\n', "    tier: 2\n"))
    assert [(f, r) for _, f, r in errors] == [("spec.labels.tier", "must be a string, got 2")]


def test_sloths_own_example_with_its_label_unquoted_loads_as_sloth_reads_it():
    text = (CASES_DIR / "sloth/examples/getting-started.yml").read_text()
    assert '  tier: "2"\n' in text
    (slo,) = load_slos(text.replace('  tier: "2"\n', "  tier: 2\n"), path="x.yml")
    assert slo.labels["tier"] == "2"


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing but a comment\n", "---\n---\n"])
def test_an_empty_spec_file_is_an_error(text):
    assert errors_of(text, path="empty.yaml") == [
        (1, "", "holds no spec (the file is empty or only comments); Sloth refuses an "
                "empty spec too")]


def test_validate_refuses_an_empty_file(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# to do\n")
    result = run("slo", "validate", str(empty))
    assert result.exit_code != 0
    assert str(result.exception).startswith(f"{empty}:1: holds no spec")


V1ALPHA = (CASES_DIR / "sloth/testdata/in-openslo.yaml").read_text()


@pytest.mark.parametrize(("days", "period"), [(28, 28 * DAY), (7, 7 * DAY), (90, 90 * DAY)])
def test_openslo_v1alpha_takes_any_day_count(days, period):
    assert "count: 30" in V1ALPHA
    (slo,) = load_slos(V1ALPHA.replace("count: 30", f"count: {days}"), path="x.yaml")
    assert slo.period == Period(period)


def test_openslo_v1alpha_without_time_windows_takes_the_default_period():
    start = V1ALPHA.index("  timeWindows:")
    (slo,) = load_slos(V1ALPHA[:start], path="x.yaml")
    assert slo.period == Period(SLOTH_DEFAULT_PERIOD)


@pytest.mark.parametrize(("old", "new", "field", "reason"), [
    pytest.param("count: 30", "count: 0", "spec.timeWindows[0].count",
                 "must be 1 or more days, got 0", id="no days"),
    pytest.param("unit: Day", "unit: Month", "spec.timeWindows[0].unit",
                 "Sloth supports only day based time windows, got 'Month'", id="months"),
])
def test_openslo_v1alpha_windows_sloth_cannot_read_are_still_refused(old, new, field, reason):
    ((_, got_field, got_reason),) = errors_of(V1ALPHA.replace(old, new))
    assert (got_field, got_reason.split(" (")[0]) == (field, reason)


def test_openslo_v1alpha_keeps_its_budgeting_method_for_report_and_backtest():
    (occurrences,) = load_slos(V1ALPHA, path="x.yaml")
    assert (occurrences.budgeting, occurrences.timeslices) == ("occurrences", None)
    text = V1ALPHA.replace("Occurrences", "Timeslices").replace(
        "      target: 0.999", "      target: 0.999\n      timeSliceTarget: 0.95")
    (timeslices,) = load_slos(text, path="x.yaml")
    assert (timeslices.budgeting, timeslices.timeslices) == (
        "timeslices", Timeslices(timedelta(minutes=1), 0.95))
    assert isinstance(timeslices.sli, RequestRatio) and timeslices.objective == 99.9


# --- item 4: OpenSLO v1 as strict as its SDK and oslo validate --------------------------------

SLO_V1 = (CASES_DIR / "go-sdk/decode/v1_slos.yaml").read_text() + (
    "    timeWindow:\n      - duration: 28d\n        isRolling: true\n")


def test_the_sdk_slo_with_a_time_window_loads():
    (slo,) = load_slos(SLO_V1, path="x.yaml")
    assert (slo.id, slo.period) == ("foo-foo-slo", Period(28 * DAY))


@pytest.mark.parametrize("key", ["op: gt", "value: 1"])
def test_op_and_value_are_refused_on_a_ratio_objective(key):
    text = SLO_V1.replace("        target: 0.98\n", f"        target: 0.98\n        {key}\n")
    ((_, field, reason),) = errors_of(text)
    assert field == f"spec.objectives[0].{key.split(':')[0]}"
    assert reason.startswith("is forbidden on an objective of a ratioMetric SLI")


REF_RATIO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout}
spec:
  service: shop
  indicatorRef: good-ratio
  budgetingMethod: Occurrences
  timeWindow: [{duration: 28d, isRolling: true}]
  objectives:
    - {target: 0.99, op: gt}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: good-ratio}
spec:
  ratioMetric:
    counter: true
    good: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{code="200"}'}}}
    total: {metricSource: {type: Prometheus, spec: {query: http_requests_total}}}
"""


def test_op_is_refused_on_a_ratio_objective_whose_sli_is_referenced():
    """The SDK can check this only on an inline SLI; Apollo resolves the reference first."""
    ((line, field, reason),) = errors_of(REF_RATIO)
    assert (line, field) == (10, "spec.objectives[0].op")
    assert reason.startswith("is forbidden on an objective of a ratioMetric SLI")
    assert load_slos(REF_RATIO.replace(", op: gt", ""), path="x.yaml")


@pytest.mark.parametrize(("name", "reason"), [
    pytest.param("Foo-SLO", "must be an RFC 1123 label: lower case letters", id="upper case"),
    pytest.param("foo_slo", "must be an RFC 1123 label: lower case letters", id="underscore"),
    pytest.param("foo.slo", "must be an RFC 1123 label: lower case letters", id="a dot"),
    pytest.param("-foo", "must be an RFC 1123 label: lower case letters", id="a leading dash"),
    pytest.param("a" * 64, "must be an RFC 1123 label of at most 63 characters, got 64",
                 id="64 characters"),
])
def test_metadata_name_must_be_an_rfc_1123_label(name, reason):
    ((line, field, got),) = errors_of(SLO_V1.replace("name: foo-slo", f"name: {name}"))
    assert (line, field) == (4, "metadata.name") and got.startswith(reason)


def test_a_63_character_name_is_a_label():
    (slo,) = load_slos(SLO_V1.replace("name: foo-slo", f"name: {'a' * 63}"), path="x.yaml")
    assert slo.name == "a" * 63


@pytest.mark.parametrize(("length", "errors"), [
    (1050, []), (1051, [(7, "spec.description", "at most 1,050 characters, got 1,051")])])
def test_description_is_at_most_1050_characters(length, errors):
    text = SLO_V1.replace("  spec:\n", f"  spec:\n    description: {'d' * length}\n", 1)
    if errors:
        assert errors_of(text) == errors
    else:
        assert load_slos(text, path="x.yaml")


ALERTING = CASES_DIR / "go-sdk/v1/examples"
TOGETHER = ["alert_policies.yaml", "alert_conditions.yaml", "alert_notification_targets.yaml"]
KEEP_REFS = (CASES_DIR / "go-sdk/inline/inputs/v1_alert_policies_keep_refs.yaml").read_text()
CUT = KEEP_REFS.index("- apiVersion: openslo/v1\n  kind: AlertCondition")
POLICIES, REFERENCED = KEEP_REFS[:CUT], KEEP_REFS[CUT:]  # policies; what they name


def test_an_alert_policy_resolves_its_references_in_the_other_files_of_the_command():
    with pytest.raises(SpecErrors) as info:
        load_slos(POLICIES, path="policies.yaml")
    assert {e.reason.split(" named")[0] for e in info.value.errors} == {
        "no AlertCondition", "no AlertNotificationTarget"}
    assert load_slo_texts([("policies.yaml", POLICIES), ("objects.yaml", REFERENCED)]) == []


def test_the_sdk_examples_policies_find_their_condition_beside_them_but_not_their_targets():
    """alert_policies.yaml names targets 'on-call-mail-notification' and
    'on-call-pd-notification'; alert_notification_targets.yaml defines
    'devs-email-notification' and 'pd-on-call-notification': the SDK's inliner fails
    them too ('does not exist'), read together or not."""
    texts = [(name, (ALERTING / name).read_text()) for name in TOGETHER]
    with pytest.raises(SpecErrors) as info:
        load_slo_texts(texts)
    assert [(e.path, e.line, e.field, e.reason) for e in info.value.errors] == [
        ("alert_policies.yaml", line, "spec.notificationTargets[0].targetRef",
         f"no AlertNotificationTarget named {name!r} in the 3 files read together")
        for line, name in [(18, "on-call-mail-notification"), (50, "on-call-pd-notification")]]
    with pytest.raises(SpecErrors) as alone_info:
        load_slo_texts(texts[:1])
    alone = [(e.line, e.field) for e in alone_info.value.errors]
    assert alone == [(16, "spec.conditions[0].conditionRef"),
                     (18, "spec.notificationTargets[0].targetRef"),
                     (50, "spec.notificationTargets[0].targetRef"),
                     (66, "spec.conditions[0].conditionRef")]


def test_an_slo_resolves_its_sli_and_policy_in_other_files():
    inline = (CASES_DIR / "go-sdk/inline/inputs/v1_slo.yaml").read_text()
    cut = inline.index("- apiVersion: openslo/v1\n  kind: SLI")
    with pytest.raises(SpecErrors):
        load_slos(inline[:cut], path="slos.yaml")
    slos = load_slo_texts([("slos.yaml", inline[:cut]), ("objects.yaml", inline[cut:])])
    assert [(s.id, s.source.path) for s in slos] == [("web-my-slo-1", "slos.yaml"),
                                                     ("web-my-slo-2", "slos.yaml")]
    one_file = load_case("go-sdk/inline/inputs/v1_slo.yaml")
    assert [(s.sli, s.alerting, s.period) for s in slos] == [
        (s.sli, s.alerting, s.period) for s in one_file]


def test_validate_checks_references_across_the_files_it_is_given(tmp_path):
    policies, objects = tmp_path / "policies.yaml", tmp_path / "objects.yaml"
    policies.write_text(POLICIES)
    objects.write_text(REFERENCED)
    assert run("slo", "validate", str(policies), str(objects)).exit_code == 0
    alone = run("slo", "validate", str(policies))
    assert alone.exit_code != 0
    assert (f"{policies}:8: spec.conditions[0].conditionRef: no AlertCondition named "
            "'cpu-usage-breach' in this file") in str(alone.exception)


def test_fields_the_sdk_does_not_decode_are_refused():
    text = SLO_V1.replace("    service: foo\n", "    service: foo\n    owner: me\n")
    ((_, field, reason),) = errors_of(text)
    assert (field, reason.split(" (")[0]) == ("spec.owner", "unknown field")

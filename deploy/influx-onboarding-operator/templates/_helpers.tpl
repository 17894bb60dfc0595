{{/* Chart name, truncated to 63 characters: the limit of a label value. */}}
{{- define "influx-onboarding-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every resource name: the release name, plus the chart name unless the release name
already contains it (so `helm install influx-onboarding-operator ...` does not double it).
*/}}
{{- define "influx-onboarding-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "influx-onboarding-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels selecting this release's pods. Immutable in a Deployment: never add to them. */}}
{{- define "influx-onboarding-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "influx-onboarding-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "influx-onboarding-operator.labels" -}}
helm.sh/chart: {{ include "influx-onboarding-operator.chart" . }}
{{ include "influx-onboarding-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "influx-onboarding-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "influx-onboarding-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The leader-election Lease's name: one per release, so releases never share a leader. */}}
{{- define "influx-onboarding-operator.leaseName" -}}
{{- include "influx-onboarding-operator.fullname" . }}
{{- end }}

{{/* Where the leader-election Lease lives; the RBAC for it is granted there and nowhere else. */}}
{{- define "influx-onboarding-operator.leaderElectionNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}

{{/* The metrics port: 8443 with HTTPS (kubebuilder's), 8080 with plain HTTP. */}}
{{- define "influx-onboarding-operator.metricsPort" -}}
{{- if .Values.metrics.secure }}8443{{ else }}8080{{ end }}
{{- end }}

{{/*
What the operator may do on its resources, shared by the ClusterRole (all namespaces) and each
per-namespace Role, so the two modes can never grant different things. Exactly the calls the code
makes (test/integration/onboarding-rbac.test.ts watches them through an API tap and fails on any
grant no call used), plus the one exception documented below.
*/}}
{{- define "influx-onboarding-operator.rules" -}}
# list/watch: the resources are cached. get: the token sweep reads an onboarding's grants live
# before it deletes anything, never from a cache that may lag.
- apiGroups: [influxdb.onboarding.dev]
  resources: [influxonboardings]
  verbs: [get, list, watch]
# The status is written with a merge patch that carries the resourceVersion it was computed from.
- apiGroups: [influxdb.onboarding.dev]
  resources: [influxonboardings/status]
  verbs: [patch]
# The credentials Secret carries an ownerReference with blockOwnerDeletion: true (so the garbage
# collector deletes it only after its owner, with deletionPolicy Delete). Setting that field needs
# update on the owner's finalizers wherever the OwnerReferencesPermissionEnforcement admission
# plugin is on (OpenShift, hardened clusters); it grants nothing else, and no API call shows it.
- apiGroups: [influxdb.onboarding.dev]
  resources: [influxonboardings/finalizers]
  verbs: [update]
# InfluxBucket and InfluxToken: cached like InfluxOnboarding (and listed live, one namespace at a
# time, by the token sweep); a finalizer is added and removed with a merge patch on the resource
# (carrying its resourceVersion), the status through /status.
- apiGroups: [influxdb.onboarding.dev]
  resources: [influxbuckets, influxtokens]
  verbs: [list, watch, patch]
# get: before it makes an authorization, the token reconciler reads its InfluxToken live (same
# UID): a new leader's cache may still hold one whose deletion has finished.
- apiGroups: [influxdb.onboarding.dev]
  resources: [influxtokens]
  verbs: [get]
- apiGroups: [influxdb.onboarding.dev]
  resources: [influxbuckets/status, influxtokens/status]
  verbs: [patch]
# The token Secret carries an ownerReference with blockOwnerDeletion: true (see above).
- apiGroups: [influxdb.onboarding.dev]
  resources: [influxtokens/finalizers]
  verbs: [update]
# get: Secrets referenced by passwordSecretRef, tokenSecretRef, authTokenSecretRef, caSecretRef,
# and a credentials Secret the cache does not hold (one the operator did not create).
# create/update: the credentials Secret and the InfluxToken Secrets the operator writes (update
# replaces exactly the version it read; they are never patched nor deleted: deletionPolicy Delete
# and a deleted InfluxToken are the garbage collector's job; a withdrawn grant empties the token).
# list/watch: the operator caches the data only of Secrets labelled
# app.kubernetes.io/managed-by=influx-onboarding-operator (a label-selected watch) and the names of
# the others, but RBAC cannot restrict a grant by label, so list/watch must cover every Secret in
# scope. Limit the scope with the `namespaces` value when that matters.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, update]
# Events are created through the events.k8s.io/v1 API, one per transition, never patched.
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create]
{{- end }}

{{/* Chart name. */}}
{{- define "tollgate.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified name: the release name, prefixed with the chart name unless it already contains it. */}}
{{- define "tollgate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Common labels. */}}
{{- define "tollgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "tollgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tollgate
{{- end -}}

{{/* Selector labels. */}}
{{- define "tollgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tollgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Image reference: digest wins over tag. */}}
{{- define "tollgate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Name of the TLS Secret mounted by the webhook. */}}
{{- define "tollgate.tlsSecret" -}}
{{- if eq .Values.tls.mode "secret" -}}
{{- .Values.tls.existingSecret -}}
{{- else -}}
{{- printf "%s-tls" (include "tollgate.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Name of the bundle ConfigMap. */}}
{{- define "tollgate.bundleConfigMap" -}}
{{- default (printf "%s-bundle" (include "tollgate.fullname" .)) .Values.bundle.existingConfigMap -}}
{{- end -}}

{{/* Whether the chart mounts a bundle ConfigMap (false: the embedded baseline of the image is used). */}}
{{- define "tollgate.hasBundle" -}}
{{- if or .Values.bundle.existingConfigMap .Values.bundle.content -}}true{{- end -}}
{{- end -}}

{{/* Internal deadline in milliseconds: answer 1.5 s before the API server gives up. */}}
{{- define "tollgate.deadlineMs" -}}
{{- sub (mul .Values.webhook.timeoutSeconds 1000) 1500 -}}
{{- end -}}

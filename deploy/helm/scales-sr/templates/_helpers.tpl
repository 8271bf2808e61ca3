{{/* Names: the release's full name, capped at 63 characters (a DNS label). */}}
{{- define "scales-sr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "scales-sr.fullname" -}}
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

{{/* The headless Service's name; "-headless" fits because the full name is cut to 54 here. */}}
{{- define "scales-sr.headlessName" -}}
{{- printf "%s-headless" (include "scales-sr.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{- define "scales-sr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scales-sr.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "scales-sr.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "scales-sr.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "scales-sr.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "scales-sr.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image: the GPU build's when gpu.enabled and it is set, else image.*; tag defaults to appVersion. */}}
{{- define "scales-sr.image" -}}
{{- $repo := .Values.image.repository }}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if and .Values.gpu.enabled .Values.gpu.image.repository }}
{{- $repo = .Values.gpu.image.repository }}
{{- $tag = default $tag .Values.gpu.image.tag }}
{{- end }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}

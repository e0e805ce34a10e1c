{{/*
The chart's name, truncated to 63 characters (a DNS label).
*/}}
{{- define "portagent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified app name: release-chart, unless the release name holds the chart name.
*/}}
{{- define "portagent.fullname" -}}
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

{{/*
Chart name and version, for the chart label.
*/}}
{{- define "portagent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "portagent.labels" -}}
helm.sh/chart: {{ include "portagent.chart" . }}
{{ include "portagent.selectorLabels" . }}
app.kubernetes.io/version: {{ include "portagent.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "portagent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "portagent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount's name.
*/}}
{{- define "portagent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "portagent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image tag: image.tag, or the chart's appVersion when empty.
*/}}
{{- define "portagent.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/*
The Secret holding LLM_PROVIDER_KEY and JWT_SECRET: the existing one, or the chart's.
*/}}
{{- define "portagent.secretName" -}}
{{- default (include "portagent.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
BASE_PATH without a trailing slash ("" when unset), for probe paths and notes.
*/}}
{{- define "portagent.basePath" -}}
{{- .Values.config.basePath | default "" | trimSuffix "/" }}
{{- end }}

{{/*
Stops the render on values that cannot work.
*/}}
{{- define "portagent.validate" -}}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail "replicaCount must be 0 or 1: Portagent keeps its data in SQLite on one ReadWriteOnce volume, and several pods on it would corrupt or split it" }}
{{- end }}
{{- end }}

{{/*
One config value as an environment value: lists joined with commas, whole numbers without
an exponent, everything else as its string. Empty strings and lists give "".
*/}}
{{- define "portagent.envValue" -}}
{{- $v := . }}
{{- if kindIs "slice" $v }}
{{- join "," $v }}
{{- else if and (kindIs "float64" $v) (eq $v (float64 (int64 $v))) }}
{{- int64 $v }}
{{- else if kindIs "invalid" $v }}
{{- else }}
{{- toString $v }}
{{- end }}
{{- end }}

{{/*
Map of config value names to the server's environment variables.
*/}}
{{- define "portagent.configEnvNames" -}}
llmProvider: LLM_PROVIDER
llmProviderUrl: LLM_PROVIDER_URL
llmProviderModel: LLM_PROVIDER_MODEL
llmTimeout: LLM_TIMEOUT
llmMaxRetries: LLM_MAX_RETRIES
basePath: BASE_PATH
nodeEnv: NODE_ENV
logLevel: LOG_LEVEL
inviteCodeRequired: INVITE_CODE_REQUIRED
corsOrigins: CORS_ORIGINS
trustedProxies: TRUSTED_PROXIES
loginMaxFailuresPerAccount: LOGIN_MAX_FAILURES_PER_ACCOUNT
loginMaxFailuresPerAddress: LOGIN_MAX_FAILURES_PER_ADDRESS
registerMaxPerAddress: REGISTER_MAX_PER_ADDRESS
bcryptRounds: BCRYPT_ROUNDS
userDailyTokenLimit: USER_DAILY_TOKEN_LIMIT
userMaxConcurrentRuns: USER_MAX_CONCURRENT_RUNS
agentMaxTurns: AGENT_MAX_TURNS
agentMaxTokens: AGENT_MAX_TOKENS
agentSystemPrompt: AGENT_SYSTEM_PROMPT
agentContextTokens: AGENT_CONTEXT_TOKENS
agentThinkingBudget: AGENT_THINKING_BUDGET
agentTools: AGENT_TOOLS
agentToolFormat: AGENT_TOOL_FORMAT
agentBashTimeout: AGENT_BASH_TIMEOUT
agentSandbox: AGENT_SANDBOX
agentSandboxNetwork: AGENT_SANDBOX_NETWORK
{{- end }}

{{/*
The container's environment: fixed layout, config values, secret references, extraEnv.
*/}}
{{- define "portagent.env" -}}
- name: DATA_DIR
  value: /home/agentx/.agentx
- name: HOST
  value: 0.0.0.0
- name: PORT
  value: "5200"
{{- $names := include "portagent.configEnvNames" . | fromYaml }}
{{- range $key := keys $names | sortAlpha }}
{{- $value := include "portagent.envValue" (index $.Values.config $key) }}
{{- if ne $value "" }}
- name: {{ index $names $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}
{{- $secret := include "portagent.secretName" . }}
{{- if or .Values.secrets.existingSecret .Values.secrets.llmProviderKey }}
- name: LLM_PROVIDER_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.secrets.llmProviderKeyKey }}
      optional: {{ eq .Values.config.llmProvider "demo" }}
{{- end }}
- name: JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.secrets.jwtSecretKey }}
      {{- if .Values.secrets.existingSecret }}
      # Without this key the server generates a secret in its data directory.
      optional: true
      {{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

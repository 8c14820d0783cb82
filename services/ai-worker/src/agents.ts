import { readFileSync } from 'node:fs';
import { ConfigError } from '@ctos/runtime';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { TOOL_NAMES, type ToolName } from './tools';

/** The agent a message without `agent` goes to. */
export const DEFAULT_AGENT = 'default';

/**
 * A named assistant (issue 18): its model, system prompt, the tools it may call, and the
 * tools whose calls run without asking the user (only read-only ones should be).
 */
export interface Agent {
  name: string;
  description: string;
  model: string;
  system: string;
  tools: ToolName[];
  /** Tools of {@link tools} whose calls skip the approval step. */
  skipApproval: ToolName[];
}

const toolName = z.enum(TOOL_NAMES);
const agentSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, - and _, at most 64'),
    description: z.string().max(500).default(''),
    model: z.string().min(1).optional(),
    system: z.string().optional(),
    tools: z.array(toolName).default([]),
    skip_approval: z.array(toolName).default([]),
  })
  .refine((agent) => agent.skip_approval.every((tool) => agent.tools.includes(tool)), {
    message: 'skip_approval may name only tools the agent has',
    path: ['skip_approval'],
  });
const agentsFileSchema = z.strictObject({
  agents: z
    .array(agentSchema)
    .min(1)
    .refine((agents) => new Set(agents.map((agent) => agent.name)).size === agents.length, 'agent names must differ'),
});

/** The defaults an agent takes for what it does not say (from the worker's settings). */
export interface AgentDefaults {
  model: string;
  system: string;
  /** `AI_TOOLS_ENABLED`: whether the default agent (without a file) has the tools. */
  toolsEnabled: boolean;
}

/**
 * The agents of `AI_AGENTS_FILE` (JSON or YAML: `{agents: [{name, description?, model?,
 * system?, tools?, skip_approval?}]}`), each with the worker's model and system prompt where
 * it gives none. Without a file: one agent, `default`, with every tool when
 * `AI_TOOLS_ENABLED` is set and none otherwise, approval asked for every call.
 * @throws ConfigError naming the file and each problem (unreadable, not JSON/YAML, bad shape).
 */
export function loadAgents(file: string | undefined, defaults: AgentDefaults): Agent[] {
  if (file === undefined) {
    const tools = defaults.toolsEnabled ? [...TOOL_NAMES] : [];
    return [
      {
        name: DEFAULT_AGENT,
        description: 'The assistant',
        model: defaults.model,
        system: defaults.system,
        tools,
        skipApproval: [],
      },
    ];
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8')); // YAML is a superset of JSON: one parser reads both
  } catch (error) {
    throw new ConfigError([`AI_AGENTS_FILE: ${file} cannot be read as JSON or YAML: ${(error as Error).message}`]);
  }
  const parsed = agentsFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (issue) => `AI_AGENTS_FILE: ${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`,
      ),
    );
  }
  return parsed.data.agents.map((agent) => ({
    name: agent.name,
    description: agent.description,
    model: agent.model ?? defaults.model,
    system: agent.system ?? defaults.system,
    tools: agent.tools,
    skipApproval: agent.skip_approval,
  }));
}

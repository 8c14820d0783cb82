import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '@ctos/runtime';
import { loadAgents } from '../src/agents';

const DEFAULTS = { model: 'claude-test', system: 'Be brief.', toolsEnabled: false };

describe('agents (AI_AGENTS_FILE)', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'ctos-agents-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const at = path.join(dir, name);
    writeFileSync(at, text);
    return at;
  };

  it('without a file, has one default agent, with the tools only when AI_TOOLS_ENABLED is set', () => {
    expect(loadAgents(undefined, DEFAULTS)).toEqual([
      {
        name: 'default',
        description: 'The assistant',
        model: 'claude-test',
        system: 'Be brief.',
        tools: [],
        skipApproval: [],
      },
    ]);
    expect(loadAgents(undefined, { ...DEFAULTS, toolsEnabled: true })[0]!.tools).toEqual([
      'run_command',
      'read_terminal',
    ]);
  });

  it('reads YAML and JSON, each agent taking the worker’s model and prompt where it gives none', () => {
    const yaml = file(
      'agents.yaml',
      [
        'agents:',
        '  - name: ops',
        '    description: Looks at your servers',
        '    model: claude-ops',
        '    tools: [run_command, read_terminal]',
        '    skip_approval: [read_terminal]',
        '  - name: writer',
        '    system: Write well.',
      ].join('\n'),
    );
    expect(loadAgents(yaml, DEFAULTS)).toEqual([
      {
        name: 'ops',
        description: 'Looks at your servers',
        model: 'claude-ops',
        system: 'Be brief.',
        tools: ['run_command', 'read_terminal'],
        skipApproval: ['read_terminal'],
      },
      { name: 'writer', description: '', model: 'claude-test', system: 'Write well.', tools: [], skipApproval: [] },
    ]);
    const json = file('agents.json', JSON.stringify({ agents: [{ name: 'solo', tools: ['read_terminal'] }] }));
    expect(loadAgents(json, DEFAULTS).map((agent) => [agent.name, agent.tools])).toEqual([['solo', ['read_terminal']]]);
  });

  it('refuses a bad file with a ConfigError that names the file and each problem', () => {
    const cases: Array<[string, RegExp]> = [
      ['agents:\n  - name: Bad Name\n', /agents\.0\.name: lower-case letters/],
      ['agents:\n  - name: a\n    tools: [rm_rf]\n', /agents\.0\.tools\.0: /],
      ['agents:\n  - name: a\n    skip_approval: [run_command]\n', /skip_approval may name only tools the agent has/],
      ['agents:\n  - name: a\n  - name: a\n', /agent names must differ/],
      ['agents: []\n', /agents: /],
      ['agents: [\n', /cannot be read as JSON or YAML/],
      ['{"agents": [{"name": "a", "colour": "red"}]}', /Unrecognized key/],
    ];
    for (const [text, problem] of cases) {
      const bad = file('bad.yaml', text);
      let thrown: unknown;
      try {
        loadAgents(bad, DEFAULTS);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect(String((thrown as ConfigError).message)).toContain(bad);
      expect(String((thrown as ConfigError).message)).toMatch(problem);
    }
    expect(() => loadAgents(path.join(dir, 'missing.yaml'), DEFAULTS)).toThrow(/cannot be read/);
  });
});

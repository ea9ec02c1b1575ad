import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createToolApprovalPolicy } from './tool-approval-policy.js';

const mcpTools = ['everything__echo', 'echo__echo_upper'];
const policyOf = (env: Record<string, string>) => createToolApprovalPolicy(loadConfig(env).toolApproval, mcpTools);

describe('tool approval policy', () => {
  it('asks about every MCP tool by default, and about no built-in tool', () => {
    const needs = policyOf({});
    expect(needs('everything__echo')).toBe(true);
    expect(needs('echo__echo_upper')).toBe(true);
    for (const builtIn of ['find_agent', 'get_agent_details', 'add_agent_to_library', 'find_library_agent'])
      expect(needs(builtIn)).toBe(false);
  });

  it('takes names and globs, with exemptions winning', () => {
    const needs = policyOf({ TOOL_APPROVAL: '@mcp, add_agent_to_library, run_*', TOOL_APPROVAL_EXEMPT: 'echo__*' });
    expect(needs('add_agent_to_library')).toBe(true);
    expect(needs('run_agent')).toBe(true);
    expect(needs('everything__echo')).toBe(true);
    expect(needs('echo__echo_upper')).toBe(false);
    expect(needs('find_agent')).toBe(false);
  });

  it('is turned off with TOOL_APPROVAL=none or TOOL_APPROVAL_EXEMPT=*', () => {
    expect(policyOf({ TOOL_APPROVAL: 'none' })('everything__echo')).toBe(false);
    expect(policyOf({ TOOL_APPROVAL_EXEMPT: '*' })('everything__echo')).toBe(false);
  });

  it('refuses a pattern it cannot read, naming the variable, and reads the timeout', () => {
    expect(() => loadConfig({ TOOL_APPROVAL: 'find agent' })).toThrow(/TOOL_APPROVAL: .*"find agent"/);
    expect(() => loadConfig({ TOOL_APPROVAL_TIMEOUT_MS: '5' })).toThrow(/TOOL_APPROVAL_TIMEOUT_MS/);
    expect(loadConfig({}).toolApproval.timeoutMs).toBe(900_000);
    expect(loadConfig({ TOOL_APPROVAL_TIMEOUT_MS: '60000' }).toolApproval.timeoutMs).toBe(60_000);
  });
});

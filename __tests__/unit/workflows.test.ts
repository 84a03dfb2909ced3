import { readFileSync, readdirSync } from 'node:fs'
import {
  NoOperationTraceWriter,
  convertWorkflowTemplate,
  parseWorkflow
} from '@actions/workflow-parser'
import { parseAction } from '@actions/workflow-parser/actions/action-parser'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

// GitHub's own parser for workflow and action files (the one its editor tooling uses), so a
// workflow that cannot run here is at least one GitHub would accept.
const root = new URL('../../', import.meta.url)
const workflowsDir = new URL('.github/workflows/', root)

/** What GitHub would say about a workflow: its syntax, then its jobs (needs, matrices, …). */
async function workflowErrors(name: string, content: string): Promise<string[]> {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter())
  const parsed = result.context.errors.getErrors().map(error => error.message)
  if (parsed.length || !result.value) return parsed
  const template = await convertWorkflowTemplate(result.context, result.value)
  return (template.errors ?? []).map(error => error.Message)
}

function actionErrors(content: string): string[] {
  const result = parseAction({ name: 'action.yml', content }, new NoOperationTraceWriter())
  return result.context.errors.getErrors().map(error => error.message)
}

describe('workflow and action files', () => {
  const workflows = readdirSync(workflowsDir).filter(name => /\.ya?ml$/.test(name))

  it.each(workflows)('.github/workflows/%s is a valid workflow', async name => {
    expect(await workflowErrors(name, readFileSync(new URL(name, workflowsDir), 'utf8'))).toEqual(
      []
    )
  })

  it('action.yml is a valid action', () => {
    expect(actionErrors(readFileSync(new URL('action.yml', root), 'utf8'))).toEqual([])
  })

  it('the parser refuses what GitHub would refuse', async () => {
    const action = readFileSync(new URL('action.yml', root), 'utf8')
    expect(actionErrors(action.replace(/using: node\d+/, 'using: node99'))).not.toEqual([])
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n'
    expect(await workflowErrors('broken.yml', broken)).not.toEqual([])
    const badNeeds =
      'on: push\njobs:\n  a:\n    runs-on: x\n    needs: nope\n    steps:\n      - run: ls\n'
    expect(await workflowErrors('needs.yml', badNeeds)).not.toEqual([])
  })
})

describe('the workflows use this action as action.yml declares it', () => {
  const action = parse(readFileSync(new URL('action.yml', root), 'utf8')) as {
    inputs: Record<string, unknown>
  }
  const steps = readdirSync(workflowsDir)
    .filter(name => /\.ya?ml$/.test(name))
    .flatMap(name => {
      const workflow = parse(readFileSync(new URL(name, workflowsDir), 'utf8')) as {
        jobs: Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }>
      }
      return Object.entries(workflow.jobs).flatMap(([job, { steps = [] }]) =>
        steps.filter(step => step.uses === './').map(step => ({ where: `${name} ${job}`, step }))
      )
    })

  it('every step that uses ./ passes only inputs action.yml has', () => {
    expect(steps.length).toBeGreaterThan(3)
    for (const { where, step } of steps) {
      for (const input of Object.keys(step.with ?? {})) {
        expect(Object.keys(action.inputs), `${where}: ${input}`).toContain(input)
      }
    }
  })
})

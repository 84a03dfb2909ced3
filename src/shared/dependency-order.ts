/** A container and the containers that must exist and run before it. */
export interface DependencyNode {
  name: string
  dependsOn: string[]
}

/**
 * The names in an order where every container comes after those it depends on; among containers
 * free to go, the given order is kept. Dependencies outside `nodes` are ignored. A cycle (or a
 * container depending on itself) is reported through `cycleError`, which gets the cycle, e.g.
 * `a -> b -> a`, and says what it means to its caller.
 */
export function dependencyOrder(
  nodes: DependencyNode[],
  cycleError: (cycle: string) => Error
): string[] {
  const position = new Map(nodes.map((node, index) => [node.name, index]))
  const dependencies = new Map(
    nodes.map(node => [
      node.name,
      [...new Set(node.dependsOn)].filter(name => position.has(name) && name !== node.name)
    ])
  )
  const selfDependent = nodes.find(node => node.dependsOn.includes(node.name))
  if (selfDependent) {
    throw cycleError(`${selfDependent.name} -> ${selfDependent.name}`)
  }

  const ordered: string[] = []
  const placed = new Set<string>()
  while (ordered.length < nodes.length) {
    const ready = nodes.find(
      node => !placed.has(node.name) && dependencies.get(node.name)!.every(dep => placed.has(dep))
    )
    if (ready === undefined) {
      const cycle = findCycle(
        nodes.filter(node => !placed.has(node.name)).map(node => node.name),
        dependencies
      )
      throw cycleError(cycle.join(' -> '))
    }
    ordered.push(ready.name)
    placed.add(ready.name)
  }
  return ordered
}

/** One cycle among `remaining` (each of which has an unplaced dependency), first name repeated. */
function findCycle(remaining: string[], dependencies: Map<string, string[]>): string[] {
  const left = new Set(remaining)
  const path: string[] = []
  let current = remaining[0]!
  while (!path.includes(current)) {
    path.push(current)
    current = dependencies.get(current)!.find(dep => left.has(dep))!
  }
  return [...path.slice(path.indexOf(current)), current]
}

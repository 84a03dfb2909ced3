// The worker thread of generateDataSet: writes the log half of the data set.
import { parentPort, workerData } from 'node:worker_threads'
import { writeLogs } from './data-set.js'

const { root, sizeMib } = workerData as { root: string; sizeMib: number }
parentPort!.postMessage(writeLogs(root, sizeMib))

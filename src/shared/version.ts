import packageJson from '../../package.json' with { type: 'json' }

/** This tool's version, recorded in every manifest. */
export const TOOL_VERSION: string = packageJson.version

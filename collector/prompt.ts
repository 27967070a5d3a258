/** The task prompt given to an agent (the paper runner's shape, shortened). */
export function taskPrompt(problemStatement: string | null, taskId: string): string {
  const issue = problemStatement?.trim() || `(no problem statement recorded for ${taskId})`
  return `Fix this issue: ${issue}\n\nRun the project's tests to verify the fix, and show the final git diff when they pass.`
}

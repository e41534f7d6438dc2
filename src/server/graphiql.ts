/**
 * What GraphiQL shows a new user first: start a job, then follow it. GraphiQL runs one operation at a time (running
 * another, in any tab, stops a subscription) and shows only a subscription's latest result, so the flow is two
 * steps in one tab, and Follow's replay makes the order safe: its last result is the event with done: true.
 * Comment lines stay within 60 columns, the editor's width beside the result pane.
 */
export const GRAPHIQL_DEFAULT_QUERY = `# 1. Put the cursor in "Start" and press Ctrl+Enter:
#    the job answers at once, RUNNING.
# 2. Put the cursor in "Follow" and press Ctrl+Enter:
#    it replays the events you missed, then goes live;
#    it ends with done: true.
# GraphiQL runs one operation at a time: running another
# stops Follow. To resume it, set after to the last
# sequence you saw: no event comes twice.
# The same jobId answers the same job: change "demo-1"
# in Start and Follow for a new batch.
# Without TOGETHER_API_KEY the server draws labelled
# offline placeholders.

mutation Start {
  startWorksheetImages(input: {
    jobId: "demo-1"
    images: [
      { id: "0-0", width: 512, height: 512,
        prompt: "A friendly cartoon elephant counting apples" }
      { id: "0-1", width: 512, height: 384,
        prompt: "Three red apples on a wooden table" }
    ]
  }) {
    id
    status
    stats { total successful failed pending }
  }
}

subscription Follow {
  generationProgress(jobId: "demo-1", after: 0) {
    sequence
    done
    progress { completed total errors current }
    image { requestId status error { code message } }
  }
}

query Job {
  generationJob(id: "demo-1") {
    status
    stats { total successful failed durationMs }
    results { requestId status url error { code message } }
  }
}
`;
